#include "util/diagnostic.hpp"

namespace certhook {

std::string Diagnostic::to_string(bool with_severity) const {
  std::string out = where.file;
  if (where.line > 0) {
    out += ':' + std::to_string(where.line);
    if (where.column > 0) out += ':' + std::to_string(where.column);
  }
  if (!out.empty()) out += ": ";
  if (with_severity && severity == Severity::warning) out += "warning: ";
  if (!key.empty()) out += key + ": ";
  out += message;
  return out;
}

}  // namespace certhook
