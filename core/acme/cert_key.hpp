// Certificate material on OpenSSL: the certificate's private key per KeyType, the CSR for
// finalize, and splitting the downloaded PEM chain into leaf and chain.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace certhook::acme {

std::string generate_certificate_key(KeyType k);            // PKCS#8 PEM; throws AcmeError
// The KeyType of a PEM private key, nullopt when it is none of the supported ones.
std::optional<KeyType> key_type_of(std::string_view key_pem);
// DER CSR with every domain as a DNS SAN (the first also as CN when it fits), signed by the key.
std::string make_csr_der(std::string_view key_pem, const std::vector<std::string> &domains);

struct SplitChain {
  std::string leaf;        // the first certificate, PEM
  std::string chain;       // the rest, PEM (may be empty)
  std::string fullchain;   // leaf + chain
};
// Throws AcmeError when `pem` holds no certificate.
SplitChain split_chain(std::string_view pem);

}  // namespace certhook::acme

namespace certhook::acme {
// True when the leaf certificate (PEM) carries the public half of `key_pem`.
bool certificate_matches_key(std::string_view cert_pem, std::string_view key_pem);
}  // namespace certhook::acme
