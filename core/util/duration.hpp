// Strict durations: one or more <integer><unit> groups, units ms s m h d ("1h30m", "500ms").
#pragma once
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace certhook {

using Duration = std::chrono::milliseconds;

// Parses text; on failure returns nullopt and sets *error to a sentence saying why.
std::optional<Duration> parse_duration(std::string_view text, std::string *error = nullptr);
// Shortest exact form: 90000ms -> "1m30s", 0 -> "0s".
std::string format_duration(Duration d);

}  // namespace certhook
