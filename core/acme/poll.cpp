#include "acme/poll.hpp"

#include <algorithm>
#include <charconv>
#include <ctime>
#include <string>

namespace certhook::acme {

Poller::Poller(PollPolicy policy, Clock::time_point start)
    : policy_(policy), deadline_(start + policy.timeout), step_(policy.first_delay) {}

std::optional<Millis> Poller::next_delay(std::optional<Millis> retry_after, Clock::time_point now) {
  if (now >= deadline_) return std::nullopt;
  Millis delay;
  if (retry_after && retry_after->count() >= 0) {
    delay = *retry_after;
  } else {
    delay = step_;
    step_ = std::min(step_ * 2, policy_.max_delay);
  }
  auto left = std::chrono::duration_cast<Millis>(deadline_ - now);
  return std::min(delay, left);
}

std::optional<Millis> parse_retry_after(std::string_view value,
                                        std::chrono::system_clock::time_point now_utc) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  long long seconds = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (ec == std::errc() && end == value.data() + value.size())
    return seconds < 0 ? std::nullopt : std::optional<Millis>(std::chrono::seconds(seconds));
  std::tm tm{};
  std::string text(value);
  const char *rest = ::strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (!rest || *rest != '\0') return std::nullopt;
  auto when = std::chrono::system_clock::from_time_t(::timegm(&tm));
  auto delta = std::chrono::duration_cast<Millis>(when - now_utc);
  return std::max(delta, Millis(0));
}

}  // namespace certhook::acme
