// Name rules: hook and certificate names (valid_name in config.hpp) and DNS names for domains.
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace certhook {

// nullopt when `name` is a DNS name certhook accepts as a certificate domain: lowercase labels of
// [a-z0-9-] (1-63 characters, no leading or trailing '-'), at most 253 characters, an optional
// "*." wildcard as the whole first label, and a last label that is not all digits.
// Otherwise a sentence saying what is wrong (without the name itself).
std::optional<std::string> domain_problem(std::string_view name);

// The explanation used when valid_name fails.
inline constexpr const char *name_rule =
    "use lowercase letters, digits, '.', '_' and '-', starting with a letter or digit, "
    "and no \"..\" (it becomes a path)";

}  // namespace certhook
