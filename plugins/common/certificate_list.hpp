// The certificates of a batching call named in one line, for the nginx and apache messages.
#pragma once
#include <certhook/plugin.hpp>

#include <string>

namespace certhook::plugins {

// "a.test, b.test" — at most five names, then "... (N in all)".
inline std::string certificate_list(const Event &event) {
  std::string names;
  for (std::size_t i = 0; i < event.certificates.size(); ++i) {
    const std::string &name = event.certificates[i].name;
    if (name.empty()) continue;
    if (i == 5) return names + ", ... (" + std::to_string(event.certificates.size()) + " in all)";
    names += (names.empty() ? "" : ", ") + name;
  }
  return names.empty() ? "no certificates" : names;
}

}  // namespace certhook::plugins
