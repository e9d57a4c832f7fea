#include "body.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <stdexcept>

namespace certhook::webhook {
namespace {

std::string json_string(const std::string &s) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += hex[c >> 4];
          out += hex[c & 15];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

}  // namespace

std::string json_body(const Notice &n) {
  std::string domains = "[";
  for (size_t i = 0; i < n.domains.size(); ++i) domains += (i ? "," : "") + json_string(n.domains[i]);
  domains += "]";
  return "{\"certificate\":" + json_string(n.certificate) + ",\"domains\":" + domains +
         ",\"fingerprint\":" + json_string(n.fingerprint) + ",\"not_after\":" +
         json_string(n.not_after) + ",\"reason\":" + json_string(n.reason) +
         ",\"hook\":" + json_string(n.hook) + ",\"attempt\":" + std::to_string(n.attempt) + "}";
}

std::string hmac_sha256_hex(const std::string &secret, const std::string &body) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
            reinterpret_cast<const unsigned char *>(body.data()), body.size(), md, &len))
    throw std::runtime_error("HMAC-SHA256 failed");
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 15];
  }
  return out;
}

}  // namespace certhook::webhook
