// Helpers for configuration tests: load TOML text and find diagnostics by exact position.
#pragma once
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "config/config.hpp"

namespace certhook::test {

// Loads `text` (a leading newline is dropped so that line 1 is the first written line) as if
// from /etc/certhook/certhook.toml.
inline LoadResult load(std::string_view text) {
  if (!text.empty() && text.front() == '\n') text.remove_prefix(1);
  return load_config_string(text, "/etc/certhook/certhook.toml");
}

inline std::string dump(const Diagnostics &ds) {
  std::string out;
  for (const auto &d : ds) out += "  " + d.to_string() + "\n";
  return out.empty() ? "  (none)\n" : out;
}

// Asserts that `ds` holds a diagnostic at exactly line:column with `key` whose message contains
// `message`.
inline ::testing::AssertionResult has(const Diagnostics &ds, int line, int column,
                                      std::string_view key, std::string_view message) {
  for (const auto &d : ds)
    if (d.where.line == line && d.where.column == column && d.key == key &&
        d.message.find(message) != std::string::npos)
      return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "no diagnostic at " << line << ":" << column << " key \"" << key
         << "\" containing \"" << message << "\"; got:\n"
         << dump(ds);
}

}  // namespace certhook::test
