#include "config/names.hpp"

#include "config/config.hpp"

namespace certhook {
namespace {

bool lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

}  // namespace

bool valid_name(std::string_view name) {
  if (name.empty() || !lower_alnum(name[0])) return false;
  for (char c : name)
    if (!lower_alnum(c) && c != '.' && c != '_' && c != '-') return false;
  return name.find("..") == std::string_view::npos;
}

std::optional<std::string> domain_problem(std::string_view name) {
  if (name.empty()) return "empty domain name";
  if (name.size() > 253) return "longer than 253 characters";
  if (name.back() == '.') return "ends with '.'; write the name without the trailing dot";
  std::string_view rest = name;
  if (rest.substr(0, 2) == "*.") rest.remove_prefix(2);
  else if (rest.find('*') != std::string_view::npos)
    return "'*' is only allowed as the whole first label (\"*.example.com\")";
  if (rest.find('*') != std::string_view::npos)
    return "'*' is only allowed as the whole first label (\"*.example.com\")";
  std::string_view last;
  while (true) {
    auto dot = rest.find('.');
    std::string_view label = rest.substr(0, dot);
    if (label.empty()) return "has an empty label (\"..\" or a leading '.')";
    if (label.size() > 63) return "has a label longer than 63 characters";
    for (char c : label) {
      if (c >= 'A' && c <= 'Z') return "has uppercase letters; write it in lowercase";
      if (!lower_alnum(c) && c != '-')
        return std::string("contains '") + c + "'; a DNS name has only letters, digits, '-' and '.'";
    }
    if (label.front() == '-' || label.back() == '-')
      return "has a label that starts or ends with '-'";
    last = label;
    if (dot == std::string_view::npos) break;
    rest.remove_prefix(dot + 1);
  }
  if (last.find_first_not_of("0123456789") == std::string_view::npos)
    return "looks like an IP address; certhook requests DNS names only";
  return std::nullopt;
}

}  // namespace certhook
