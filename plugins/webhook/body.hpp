// What the webhook sends: a JSON description of the deployed certificate (never key material),
// and its HMAC-SHA256 signature.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace certhook::webhook {

struct Notice {
  std::string certificate;
  std::vector<std::string> domains;
  std::string fingerprint, not_after, reason, hook;
  uint32_t attempt = 1;
};

// {"certificate","domains","fingerprint","not_after","reason","hook","attempt"}
std::string json_body(const Notice &notice);

// Lowercase hex HMAC-SHA256 of `body` keyed with `secret`.
std::string hmac_sha256_hex(const std::string &secret, const std::string &body);

}  // namespace certhook::webhook
