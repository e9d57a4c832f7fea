// A located, typed TOML value detached from the TOML library, so that plugin option tables can be
// checked against a plugin's schema later without pulling toml++ into every translation unit.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "util/diagnostic.hpp"

namespace certhook {

struct Value {
  enum class Kind { string, integer, floating, boolean, datetime, array, table };
  Kind kind = Kind::string;
  std::string text;       // string value; datetime as written
  std::int64_t integer = 0;
  double floating = 0;
  bool boolean = false;
  std::vector<Value> items;                            // array
  std::vector<std::pair<std::string, Value>> fields;   // table, in source order
  SourceLocation where;

  const Value *find(std::string_view key) const;
  static const char *kind_name(Kind k);   // "string", "integer", ... for messages
};

}  // namespace certhook
