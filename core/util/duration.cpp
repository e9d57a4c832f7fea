#include "util/duration.hpp"

#include <cctype>
#include <limits>

namespace certhook {

std::optional<Duration> parse_duration(std::string_view text, std::string *error) {
  auto fail = [&](std::string why) -> std::optional<Duration> {
    if (error) *error = std::move(why);
    return std::nullopt;
  };
  if (text.empty()) return fail("empty duration; write e.g. \"30s\", \"5m\" or \"1h30m\"");
  std::int64_t total = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    if (!std::isdigit(static_cast<unsigned char>(text[i])))
      return fail("\"" + std::string(text) + "\" is not a duration; write <integer><unit> groups "
                  "with units ms, s, m, h, d, e.g. \"30s\" or \"1h30m\"");
    std::int64_t n = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
      if (n > std::numeric_limits<std::int64_t>::max() / 10 - 10)
        return fail("\"" + std::string(text) + "\" is too long a duration");
      n = n * 10 + (text[i++] - '0');
    }
    std::size_t unit_start = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    std::string_view unit = text.substr(unit_start, i - unit_start);
    std::int64_t scale;
    if (unit == "ms") scale = 1;
    else if (unit == "s") scale = 1000;
    else if (unit == "m") scale = 60'000;
    else if (unit == "h") scale = 3'600'000;
    else if (unit == "d") scale = 86'400'000;
    else if (unit.empty() && i < text.size() && text[i] == '.')
      return fail("\"" + std::string(text) + "\" has a fraction; use a whole number of a smaller unit "
                  "(e.g. \"1500ms\" for 1.5s)");
    else if (unit.empty())
      return fail("\"" + std::string(text) + "\" has a number without a unit; add one of ms, s, "
                  "m, h, d (e.g. \"" + std::to_string(n) + "s\")");
    else
      return fail("\"" + std::string(text) + "\" has unknown unit \"" + std::string(unit) +
                  "\"; use ms, s, m, h or d");
    if (n > (std::numeric_limits<std::int64_t>::max() - total) / scale)
      return fail("\"" + std::string(text) + "\" is too long a duration");
    total += n * scale;
  }
  // Deadlines are computed on nanosecond clocks (good for ~292 years): keep far below that.
  constexpr std::int64_t max_total = 36'500LL * 86'400'000;
  if (total > max_total)
    return fail("\"" + std::string(text) + "\" is longer than 100 years (36500d); use a shorter duration");
  return Duration(total);
}

std::string format_duration(Duration d) {
  std::int64_t ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) { out = "-"; ms = -ms; }
  static constexpr std::pair<std::int64_t, const char *> units[] = {
      {86'400'000, "d"}, {3'600'000, "h"}, {60'000, "m"}, {1000, "s"}, {1, "ms"}};
  for (auto [scale, name] : units) {
    if (ms >= scale) {
      out += std::to_string(ms / scale) + name;
      ms %= scale;
    }
  }
  return out;
}

}  // namespace certhook
