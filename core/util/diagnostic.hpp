// A located problem in an input file: "file:line:column: key: message".
#pragma once
#include <string>
#include <vector>

namespace certhook {

struct SourceLocation {
  std::string file;
  int line = 0;    // 1-based; 0 when unknown
  int column = 0;  // 1-based; 0 when unknown
};

enum class Severity { error, warning };

struct Diagnostic {
  SourceLocation where;
  std::string key;      // dotted key path, e.g. "hook[2].retry.delay" or "certificate.example.com.domains"
  std::string message;  // what is wrong and how to fix it
  Severity severity = Severity::error;

  // "file:line:column: key: message" (parts that are unknown are left out).
  // with_severity=false leaves out "warning: " for loggers that print the level themselves.
  std::string to_string(bool with_severity = true) const;
};

using Diagnostics = std::vector<Diagnostic>;

}  // namespace certhook
