#include "cli/output.hpp"

#include <cstdio>
#include <iostream>

namespace certhook::cli {

nlohmann::json to_json(const Diagnostic &d) {
  return {{"file", d.where.file},
          {"line", d.where.line},
          {"column", d.where.column},
          {"key", d.key},
          {"message", d.message},
          {"severity", d.severity == Severity::error ? "error" : "warning"}};
}

nlohmann::json to_json(const Diagnostics &ds) {
  auto arr = nlohmann::json::array();
  for (const auto &d : ds) arr.push_back(to_json(d));
  return arr;
}

void print_json(const nlohmann::json &j) {
  std::cout << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
  std::cout.flush();
}

void print_diagnostics(const Diagnostics &ds) {
  for (const auto &d : ds) std::cerr << d.to_string() << '\n';
}

}  // namespace certhook::cli
