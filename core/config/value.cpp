#include "config/value.hpp"

namespace certhook {

const Value *Value::find(std::string_view key) const {
  for (const auto &[k, v] : fields)
    if (k == key) return &v;
  return nullptr;
}

const char *Value::kind_name(Kind k) {
  switch (k) {
    case Kind::string: return "string";
    case Kind::integer: return "integer";
    case Kind::floating: return "float";
    case Kind::boolean: return "boolean";
    case Kind::datetime: return "date-time";
    case Kind::array: return "array";
    case Kind::table: return "table";
  }
  return "value";
}

}  // namespace certhook
