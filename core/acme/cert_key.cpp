#include "acme/cert_key.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "acme/problem.hpp"

namespace certhook::acme {

namespace {

EVP_PKEY *read_key(std::string_view pem) {
  BIO *b = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, nullptr, nullptr, nullptr) : nullptr;
  BIO_free(b);
  return k;
}

std::string bio_string(BIO *b) {
  char *data = nullptr;
  long n = BIO_get_mem_data(b, &data);
  return std::string(data, static_cast<std::size_t>(n));
}

}  // namespace

std::string generate_certificate_key(KeyType k) {
  EVP_PKEY *key = nullptr;
  switch (k) {
    case KeyType::ecdsa_p256: key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"); break;
    case KeyType::ecdsa_p384: key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384"); break;
    case KeyType::rsa_2048: key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048}); break;
    case KeyType::rsa_3072: key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{3072}); break;
    case KeyType::rsa_4096: key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{4096}); break;
  }
  if (!key) throw AcmeError(std::string("acme: certificate key: generating a ") + to_string(k) + " key failed");
  BIO *b = BIO_new(BIO_s_mem());
  bool ok = b && PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  std::string pem = ok ? bio_string(b) : std::string();
  BIO_free(b);
  EVP_PKEY_free(key);
  if (!ok) throw AcmeError("acme: certificate key: cannot encode it as PEM");
  return pem;
}

std::optional<KeyType> key_type_of(std::string_view key_pem) {
  EVP_PKEY *k = read_key(key_pem);
  if (!k) return std::nullopt;
  std::optional<KeyType> out;
  if (EVP_PKEY_is_a(k, "EC")) {
    char group[64] = {};
    size_t len = 0;
    if (EVP_PKEY_get_utf8_string_param(k, "group", group, sizeof group, &len) == 1) {
      std::string g(group, len);
      if (g == "prime256v1" || g == "P-256") out = KeyType::ecdsa_p256;
      if (g == "secp384r1" || g == "P-384") out = KeyType::ecdsa_p384;
    }
  } else if (EVP_PKEY_is_a(k, "RSA")) {
    switch (EVP_PKEY_get_bits(k)) {
      case 2048: out = KeyType::rsa_2048; break;
      case 3072: out = KeyType::rsa_3072; break;
      case 4096: out = KeyType::rsa_4096; break;
      default: break;
    }
  }
  EVP_PKEY_free(k);
  return out;
}

std::string make_csr_der(std::string_view key_pem, const std::vector<std::string> &domains) {
  if (domains.empty()) throw AcmeError("acme: csr: no domains given");
  EVP_PKEY *key = read_key(key_pem);
  if (!key) throw AcmeError("acme: csr: the certificate key is not a PEM private key");
  X509_REQ *req = X509_REQ_new();
  std::string der;
  bool ok = req && X509_REQ_set_version(req, 0) == 1 && X509_REQ_set_pubkey(req, key) == 1;
  if (ok && domains[0].size() <= 64) {
    X509_NAME *name = X509_REQ_get_subject_name(req);
    ok = X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                    reinterpret_cast<const unsigned char *>(domains[0].c_str()), -1, -1, 0) == 1;
  }
  if (ok) {
    GENERAL_NAMES *names = sk_GENERAL_NAME_new_null();
    for (const auto &d : domains) {
      GENERAL_NAME *gn = GENERAL_NAME_new();
      ASN1_IA5STRING *ia5 = ASN1_IA5STRING_new();
      ASN1_STRING_set(ia5, d.data(), static_cast<int>(d.size()));
      GENERAL_NAME_set0_value(gn, GEN_DNS, ia5);
      sk_GENERAL_NAME_push(names, gn);
    }
    STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
    X509_EXTENSION *san = X509V3_EXT_i2d(NID_subject_alt_name, 0, names);
    ok = san != nullptr;
    if (ok) {
      sk_X509_EXTENSION_push(exts, san);
      ok = X509_REQ_add_extensions(req, exts) == 1;
    }
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    GENERAL_NAMES_free(names);
  }
  if (ok) ok = X509_REQ_sign(req, key, EVP_sha256()) > 0;
  if (ok) {
    unsigned char *buf = nullptr;
    int n = i2d_X509_REQ(req, &buf);
    ok = n > 0;
    if (ok) der.assign(reinterpret_cast<const char *>(buf), static_cast<std::size_t>(n));
    OPENSSL_free(buf);
  }
  X509_REQ_free(req);
  EVP_PKEY_free(key);
  if (!ok) throw AcmeError("acme: csr: building the certificate signing request failed");
  return der;
}

SplitChain split_chain(std::string_view pem) {
  constexpr std::string_view begin = "-----BEGIN CERTIFICATE-----";
  constexpr std::string_view end = "-----END CERTIFICATE-----";
  std::vector<std::string> blocks;
  std::size_t pos = 0;
  while ((pos = pem.find(begin, pos)) != std::string_view::npos) {
    std::size_t stop = pem.find(end, pos);
    if (stop == std::string_view::npos) throw AcmeError("acme: certificate: truncated PEM block in the downloaded chain");
    stop += end.size();
    std::string block(pem.substr(pos, stop - pos));
    std::erase(block, '\r');
    blocks.push_back(block + "\n");
    pos = stop;
  }
  if (blocks.empty()) throw AcmeError("acme: certificate: the server sent no PEM certificate");
  SplitChain out;
  out.leaf = blocks[0];
  for (std::size_t i = 1; i < blocks.size(); ++i) out.chain += blocks[i];
  out.fullchain = out.leaf + out.chain;
  return out;
}

}  // namespace certhook::acme

namespace certhook::acme {
bool certificate_matches_key(std::string_view cert_pem, std::string_view key_pem) {
  BIO *b = BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size()));
  X509 *cert = b ? PEM_read_bio_X509(b, nullptr, nullptr, nullptr) : nullptr;
  BIO_free(b);
  EVP_PKEY *key = read_key(key_pem);
  bool ok = cert && key && X509_check_private_key(cert, key) == 1;
  X509_free(cert);
  EVP_PKEY_free(key);
  return ok;
}
}  // namespace certhook::acme
