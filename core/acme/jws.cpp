#include "acme/jws.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <nlohmann/json.hpp>

#include "acme/base64url.hpp"
#include "acme/problem.hpp"

namespace certhook::acme {

namespace {

struct BnFree {
  void operator()(BIGNUM *b) const { BN_free(b); }
};
using Bn = std::unique_ptr<BIGNUM, BnFree>;

std::string bn_bytes(const BIGNUM *bn, int width) {
  int n = width > 0 ? width : BN_num_bytes(bn);
  std::string out(static_cast<std::size_t>(n), '\0');
  if (BN_bn2binpad(bn, reinterpret_cast<unsigned char *>(out.data()), n) != n)
    throw AcmeError("acme: account key: number does not fit its field");
  return out;
}

Bn get_bn(EVP_PKEY *k, const char *param) {
  BIGNUM *bn = nullptr;
  if (EVP_PKEY_get_bn_param(k, param, &bn) != 1) throw AcmeError("acme: account key: cannot read its public parameters");
  return Bn(bn);
}

std::string mem_pem(EVP_PKEY *k) {
  BIO *b = BIO_new(BIO_s_mem());
  if (!b || PEM_write_bio_PrivateKey(b, k, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    BIO_free(b);
    throw AcmeError("acme: account key: cannot encode it as PEM");
  }
  char *data = nullptr;
  long n = BIO_get_mem_data(b, &data);
  std::string out(data, static_cast<std::size_t>(n));
  BIO_free(b);
  return out;
}

}  // namespace

struct AccountKey::Impl {
  EVP_PKEY *key = nullptr;
  std::string alg;
  std::string jwk;
  int coordinate_bytes = 0;   // ECDSA: size of r and s
  const EVP_MD *md = nullptr;
  ~Impl() { EVP_PKEY_free(key); }

  void describe() {
    nlohmann::json j;   // std::map-backed: keys come out sorted, as RFC 7638 wants
    if (EVP_PKEY_is_a(key, "EC")) {
      char group[64] = {};
      size_t len = 0;
      if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &len) != 1)
        throw AcmeError("acme: account key: cannot read its curve");
      std::string g(group, len);
      if (g == "prime256v1" || g == "P-256") {
        alg = "ES256"; coordinate_bytes = 32; md = EVP_sha256(); j["crv"] = "P-256";
      } else if (g == "secp384r1" || g == "P-384") {
        alg = "ES384"; coordinate_bytes = 48; md = EVP_sha384(); j["crv"] = "P-384";
      } else {
        throw AcmeError("acme: account key: curve " + g + " is not supported; use P-256 or P-384");
      }
      j["kty"] = "EC";
      j["x"] = base64url_encode(bn_bytes(get_bn(key, OSSL_PKEY_PARAM_EC_PUB_X).get(), coordinate_bytes));
      j["y"] = base64url_encode(bn_bytes(get_bn(key, OSSL_PKEY_PARAM_EC_PUB_Y).get(), coordinate_bytes));
    } else if (EVP_PKEY_is_a(key, "RSA")) {
      if (EVP_PKEY_get_bits(key) < 2048) throw AcmeError("acme: account key: RSA keys need at least 2048 bits");
      alg = "RS256"; md = EVP_sha256();
      j["kty"] = "RSA";
      j["n"] = base64url_encode(bn_bytes(get_bn(key, OSSL_PKEY_PARAM_RSA_N).get(), 0));
      j["e"] = base64url_encode(bn_bytes(get_bn(key, OSSL_PKEY_PARAM_RSA_E).get(), 0));
    } else {
      throw AcmeError("acme: account key: only EC (P-256, P-384) and RSA keys are supported");
    }
    jwk = j.dump();
  }
};

AccountKey::AccountKey(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AccountKey::AccountKey(AccountKey &&) noexcept = default;
AccountKey &AccountKey::operator=(AccountKey &&) noexcept = default;
AccountKey::~AccountKey() = default;

AccountKey AccountKey::generate() {
  auto impl = std::make_unique<Impl>();
  impl->key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  if (!impl->key) throw AcmeError("acme: account key: generation failed");
  impl->describe();
  return AccountKey(std::move(impl));
}

AccountKey AccountKey::from_pem(std::string_view pem) {
  auto impl = std::make_unique<Impl>();
  BIO *b = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  impl->key = b ? PEM_read_bio_PrivateKey(b, nullptr, nullptr, nullptr) : nullptr;
  BIO_free(b);
  if (!impl->key) throw AcmeError("acme: account key: not a PEM private key");
  impl->describe();
  return AccountKey(std::move(impl));
}

std::string AccountKey::to_pem() const { return mem_pem(impl_->key); }
const std::string &AccountKey::alg() const { return impl_->alg; }
const std::string &AccountKey::jwk_json() const { return impl_->jwk; }

std::string AccountKey::thumbprint() const {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!EVP_Digest(impl_->jwk.data(), impl_->jwk.size(), md, &len, EVP_sha256(), nullptr))
    throw AcmeError("acme: account key: digest failed");
  return base64url_encode(std::string_view(reinterpret_cast<const char *>(md), len));
}

std::string AccountKey::sign(std::string_view data) const {
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  size_t len = 0;
  std::string sig;
  bool ok = ctx && EVP_DigestSignInit(ctx, nullptr, impl_->md, nullptr, impl_->key) == 1 &&
            EVP_DigestSign(ctx, nullptr, &len,
                           reinterpret_cast<const unsigned char *>(data.data()), data.size()) == 1;
  if (ok) {
    sig.resize(len);
    ok = EVP_DigestSign(ctx, reinterpret_cast<unsigned char *>(sig.data()), &len,
                        reinterpret_cast<const unsigned char *>(data.data()), data.size()) == 1;
    sig.resize(len);
  }
  EVP_MD_CTX_free(ctx);
  if (!ok) throw AcmeError("acme: account key: signing failed");
  if (impl_->coordinate_bytes == 0) return sig;   // RSA: already the JWS form
  // ECDSA: DER SEQUENCE{r, s} -> fixed-width r||s (RFC 7518 §3.4).
  const unsigned char *p = reinterpret_cast<const unsigned char *>(sig.data());
  ECDSA_SIG *es = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
  if (!es) throw AcmeError("acme: account key: cannot decode the ECDSA signature");
  const BIGNUM *r = nullptr, *s = nullptr;
  ECDSA_SIG_get0(es, &r, &s);
  std::string out;
  try {
    out = bn_bytes(r, impl_->coordinate_bytes) + bn_bytes(s, impl_->coordinate_bytes);
  } catch (...) {
    ECDSA_SIG_free(es);
    throw;
  }
  ECDSA_SIG_free(es);
  return out;
}

std::string jws_sign(const AccountKey &key, std::string_view url, std::string_view nonce,
                     std::string_view kid, const std::optional<std::string> &payload) {
  nlohmann::json header;
  header["alg"] = key.alg();
  header["nonce"] = std::string(nonce);
  header["url"] = std::string(url);
  if (kid.empty())
    header["jwk"] = nlohmann::json::parse(key.jwk_json());
  else
    header["kid"] = std::string(kid);
  std::string protected_b64 = base64url_encode(header.dump());
  std::string payload_b64 = payload ? base64url_encode(*payload) : std::string();
  std::string signature = key.sign(protected_b64 + "." + payload_b64);
  nlohmann::json jws;
  jws["protected"] = protected_b64;
  jws["payload"] = payload_b64;
  jws["signature"] = base64url_encode(signature);
  return jws.dump();
}

std::string key_authorization(std::string_view token, const AccountKey &key) {
  return std::string(token) + "." + key.thumbprint();
}

}  // namespace certhook::acme
