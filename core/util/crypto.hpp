// Small digest helpers on OpenSSL, kept out of headers so callers need not include OpenSSL.
#pragma once
#include <string>
#include <string_view>

namespace certhook {

std::string sha256_hex(std::string_view data);       // lowercase hex
std::string to_hex(std::string_view bytes);          // lowercase hex
std::string hmac_sha256_hex(std::string_view key, std::string_view data);

}  // namespace certhook
