#include "testcerts.hpp"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <memory>
#include <stdexcept>

#include "tempdir.hpp"

namespace certhook::test {
namespace {

template <class T, void (*F)(T *)>
struct Deleter {
  void operator()(T *p) const { F(p); }
};
using PKey = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using Cert = std::unique_ptr<X509, Deleter<X509, X509_free>>;
void bio_free(BIO *b) { BIO_free(b); }
using Bio = std::unique_ptr<BIO, Deleter<BIO, bio_free>>;

void check(bool ok, const char *what) {
  if (!ok) throw std::runtime_error(std::string("testcerts: ") + what + " failed");
}

PKey make_key(KeyKind kind) {
  EVP_PKEY *k = nullptr;
  switch (kind) {
    case KeyKind::ec_p256: k = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"); break;
    case KeyKind::ec_p384: k = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384"); break;
    case KeyKind::rsa_2048: k = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048}); break;
  }
  check(k != nullptr, "key generation");
  return PKey(k);
}

std::string to_pem(X509 *c) {
  Bio b(BIO_new(BIO_s_mem()));
  check(PEM_write_bio_X509(b.get(), c) == 1, "PEM_write_bio_X509");
  char *data = nullptr;
  long n = BIO_get_mem_data(b.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

std::string to_pem(EVP_PKEY *k) {
  Bio b(BIO_new(BIO_s_mem()));
  check(PEM_write_bio_PrivateKey(b.get(), k, nullptr, nullptr, 0, nullptr, nullptr) == 1,
        "PEM_write_bio_PrivateKey");
  char *data = nullptr;
  long n = BIO_get_mem_data(b.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

Cert cert_from_pem(const std::string &pem) {
  Bio b(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Cert c(PEM_read_bio_X509(b.get(), nullptr, nullptr, nullptr));
  check(c != nullptr, "PEM_read_bio_X509");
  return c;
}

PKey key_from_pem(const std::string &pem) {
  Bio b(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  PKey k(PEM_read_bio_PrivateKey(b.get(), nullptr, nullptr, nullptr));
  check(k != nullptr, "PEM_read_bio_PrivateKey");
  return k;
}

void add_ext(X509 *issuer, X509 *subject, int nid, const char *value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, subject, nullptr, nullptr, 0);
  X509_EXTENSION *ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  check(ext != nullptr, "X509V3_EXT_conf_nid");
  X509_add_ext(subject, ext, -1);
  X509_EXTENSION_free(ext);
}

Cert new_cert(EVP_PKEY *key, const std::string &cn, std::chrono::seconds not_before,
              std::chrono::seconds valid_for) {
  Cert c(X509_new());
  X509_set_version(c.get(), 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7f;
  BIGNUM *bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(c.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(c.get()), static_cast<long>(not_before.count()));
  X509_gmtime_adj(X509_getm_notAfter(c.get()), static_cast<long>((not_before + valid_for).count()));
  X509_set_pubkey(c.get(), key);
  X509_NAME *name = X509_get_subject_name(c.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char *>(cn.c_str()), -1, -1, 0);
  return c;
}

}  // namespace

Pem make_ca(const std::string &common_name, KeyKind kind) {
  PKey key = make_key(kind);
  Cert c = new_cert(key.get(), common_name, std::chrono::seconds(-3600),
                    std::chrono::hours(24 * 365 * 10));
  X509_set_issuer_name(c.get(), X509_get_subject_name(c.get()));
  add_ext(c.get(), c.get(), NID_basic_constraints, "critical,CA:TRUE");
  add_ext(c.get(), c.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
  add_ext(c.get(), c.get(), NID_subject_key_identifier, "hash");
  check(X509_sign(c.get(), key.get(), EVP_sha256()) > 0, "X509_sign (CA)");
  return {to_pem(c.get()), to_pem(key.get())};
}

Pem make_leaf(const Pem &ca, const LeafOptions &opts) {
  Cert ca_cert = cert_from_pem(ca.cert);
  PKey ca_key = key_from_pem(ca.key);
  PKey key = make_key(opts.kind);
  Cert c = new_cert(key.get(), opts.names.empty() ? "leaf" : opts.names[0], opts.not_before_offset,
                    opts.valid_for);
  X509_set_issuer_name(c.get(), X509_get_subject_name(ca_cert.get()));
  add_ext(ca_cert.get(), c.get(), NID_basic_constraints, "critical,CA:FALSE");
  add_ext(ca_cert.get(), c.get(), NID_ext_key_usage, "serverAuth");
  if (!opts.names.empty()) {
    std::string san;
    for (const auto &n : opts.names) {
      if (!san.empty()) san += ',';
      bool ip = n.find_first_not_of("0123456789.") == std::string::npos;
      san += (ip ? "IP:" : "DNS:") + n;
    }
    add_ext(ca_cert.get(), c.get(), NID_subject_alt_name, san.c_str());
  }
  check(X509_sign(c.get(), ca_key.get(), EVP_sha256()) > 0, "X509_sign (leaf)");
  return {to_pem(c.get()), to_pem(key.get())};
}

void write_lineage(const std::filesystem::path &dir, const Pem &leaf, const Pem &ca) {
  std::filesystem::create_directories(dir);
  write_text(dir / "cert.pem", leaf.cert);
  write_text(dir / "privkey.pem", leaf.key, 0600);
  write_text(dir / "chain.pem", ca.cert);
  write_text(dir / "fullchain.pem", leaf.cert + ca.cert);
}

std::string fingerprint_of(const std::string &cert_pem) {
  Cert c = cert_from_pem(cert_pem);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  check(X509_digest(c.get(), EVP_sha256(), md, &len) == 1, "X509_digest");
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out += digits[md[i] >> 4];
    out += digits[md[i] & 15];
  }
  return out;
}

// ---- checks of issued certificates ----

namespace {


std::vector<X509 *> read_certs(const std::string &pem) {
  std::vector<X509 *> out;
  BIO *b = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  while (X509 *c = PEM_read_bio_X509(b, nullptr, nullptr, nullptr)) out.push_back(c);
  BIO_free(b);
  return out;
}

void free_certs(std::vector<X509 *> &v) {
  for (X509 *c : v) X509_free(c);
  v.clear();
}

}  // namespace

std::string verify_chain(const std::string &cert_pem, const std::string &chain_pem, const std::string &root_pem) {
  auto leaf = read_certs(cert_pem), chain = read_certs(chain_pem), roots = read_certs(root_pem);
  std::string result;
  if (leaf.size() != 1 || roots.empty()) {
    result = "unexpected PEM contents (" + std::to_string(leaf.size()) + " leaf certificates)";
  } else {
    X509_STORE *store = X509_STORE_new();
    for (X509 *r : roots) X509_STORE_add_cert(store, r);
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    for (X509 *c : chain) sk_X509_push(untrusted, c);
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    X509_STORE_CTX_init(ctx, store, leaf[0], untrusted);
    if (X509_verify_cert(ctx) != 1) result = X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx));
    X509_STORE_CTX_free(ctx);
    sk_X509_free(untrusted);
    X509_STORE_free(store);
  }
  free_certs(leaf);
  free_certs(chain);
  free_certs(roots);
  return result;
}

std::vector<std::string> dns_names(const std::string &cert_pem) {
  auto certs = read_certs(cert_pem);
  std::vector<std::string> out;
  if (certs.empty()) return out;
  auto *names = static_cast<GENERAL_NAMES *>(X509_get_ext_d2i(certs[0], NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME *gn = sk_GENERAL_NAME_value(names, i);
    if (gn->type == GEN_DNS)
      out.emplace_back(reinterpret_cast<const char *>(ASN1_STRING_get0_data(gn->d.dNSName)),
                       static_cast<std::size_t>(ASN1_STRING_length(gn->d.dNSName)));
  }
  GENERAL_NAMES_free(names);
  free_certs(certs);
  std::sort(out.begin(), out.end());
  return out;
}

bool key_matches(const std::string &cert_pem, const std::string &key_pem) {
  auto certs = read_certs(cert_pem);
  BIO *b = BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size()));
  EVP_PKEY *key = PEM_read_bio_PrivateKey(b, nullptr, nullptr, nullptr);
  BIO_free(b);
  bool ok = !certs.empty() && key && X509_check_private_key(certs[0], key) == 1;
  EVP_PKEY_free(key);
  free_certs(certs);
  return ok;
}

}  // namespace certhook::test
