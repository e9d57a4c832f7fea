// Test certificates made with OpenSSL: a CA, leaves signed by it, lineage directories.
#pragma once
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace certhook::test {

enum class KeyKind { ec_p256, ec_p384, rsa_2048 };

struct Pem {
  std::string cert;   // PEM of the certificate
  std::string key;    // PEM of its private key (PKCS#8)
};

// A self-signed CA.
Pem make_ca(const std::string &common_name = "certhook test CA", KeyKind kind = KeyKind::ec_p256);

struct LeafOptions {
  std::vector<std::string> names = {"example.test"};   // DNS SANs; names[0] is also the CN
  KeyKind kind = KeyKind::ec_p256;
  std::chrono::seconds valid_for = std::chrono::hours(24 * 90);
  std::chrono::seconds not_before_offset = std::chrono::seconds(-60);
};
// A leaf signed by `ca`.
Pem make_leaf(const Pem &ca, const LeafOptions &opts = {});

// Writes cert.pem, privkey.pem (0600), chain.pem (the CA) and fullchain.pem into dir
// (created if needed).
void write_lineage(const std::filesystem::path &dir, const Pem &leaf, const Pem &ca);

// SHA-256 of the leaf's DER, lowercase hex (independent of certhook's own code).
std::string fingerprint_of(const std::string &cert_pem);

// OpenSSL, independent of certhook's code: verifies leaf + chain against `root_pem`, returns ""
// or OpenSSL's reason.
std::string verify_chain(const std::string &cert_pem, const std::string &chain_pem, const std::string &root_pem);
// The leaf's DNS subjectAltNames, sorted.
std::vector<std::string> dns_names(const std::string &cert_pem);
// Whether the private key (PEM) belongs to the leaf certificate (PEM).
bool key_matches(const std::string &cert_pem, const std::string &key_pem);

}  // namespace certhook::test
