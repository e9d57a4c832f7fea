// Polling for pending ACME resources: a short first delay doubling up to a cap, Retry-After
// honoured when present, and a deadline after which polling stops with an error.
#pragma once
#include <chrono>
#include <optional>
#include <string_view>

namespace certhook::acme {

using Clock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;

struct PollPolicy {
  Millis first_delay{10};
  Millis max_delay{1000};
  Millis timeout{std::chrono::minutes(2)};   // for one resource, from the first poll
};

class Poller {
 public:
  Poller(PollPolicy policy, Clock::time_point start);
  // The wait before the next poll, or nullopt once the deadline has passed. A Retry-After from
  // the server replaces the backoff step (but never waits past the deadline).
  std::optional<Millis> next_delay(std::optional<Millis> retry_after, Clock::time_point now);
  Clock::time_point deadline() const { return deadline_; }

 private:
  PollPolicy policy_;
  Clock::time_point deadline_;
  Millis step_;
};

// Retry-After: delta-seconds or an HTTP-date (relative to `now_utc`); nullopt when absent/invalid.
std::optional<Millis> parse_retry_after(std::string_view value,
                                        std::chrono::system_clock::time_point now_utc);

}  // namespace certhook::acme
