// Shared output helpers: --json objects on stdout, diagnostics on stderr.
#pragma once
#include <nlohmann/json.hpp>

#include "util/diagnostic.hpp"

namespace certhook::cli {

// {"file","line","column","key","message"} (DESIGN §4)
nlohmann::json to_json(const Diagnostic &d);
nlohmann::json to_json(const Diagnostics &ds);
// Prints exactly one JSON object on stdout.
void print_json(const nlohmann::json &j);
// Prints each diagnostic on stderr, one line each.
void print_diagnostics(const Diagnostics &ds);

}  // namespace certhook::cli
