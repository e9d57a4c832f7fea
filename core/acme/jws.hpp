// The ACME account key and JWS signing (RFC 7515 flattened JSON, RFC 7638 thumbprints).
// ES256 for P-256 keys (the default), ES384 for P-384, RS256 for RSA keys.
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace certhook::acme {

class AccountKey {
 public:
  static AccountKey generate();                        // a new P-256 key
  static AccountKey from_pem(std::string_view pem);    // throws AcmeError for unusable keys
  AccountKey(AccountKey &&) noexcept;
  AccountKey &operator=(AccountKey &&) noexcept;
  ~AccountKey();

  std::string to_pem() const;        // PKCS#8; a secret: never log it
  const std::string &alg() const;    // "ES256", "ES384" or "RS256"
  // The public JWK with only the RFC 7638 members, keys sorted, no whitespace.
  const std::string &jwk_json() const;
  // base64url(SHA-256(jwk_json())).
  std::string thumbprint() const;
  // The raw JWS signature of `data`: r||s for ECDSA, PKCS#1 v1.5 for RSA.
  std::string sign(std::string_view data) const;

 private:
  struct Impl;
  explicit AccountKey(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A JWS in flattened JSON serialization. `kid` empty: the public key goes in as `jwk`
// (newAccount); otherwise the account URL goes in as `kid`. `payload` nullopt: POST-as-GET
// (empty payload); otherwise the JSON text to sign.
std::string jws_sign(const AccountKey &key, std::string_view url, std::string_view nonce,
                     std::string_view kid, const std::optional<std::string> &payload);

// http-01 key authorization: token "." thumbprint. A secret beyond the token: never log it.
std::string key_authorization(std::string_view token, const AccountKey &key);

}  // namespace certhook::acme
