#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <nlohmann/json.hpp>

#include "acme/base64url.hpp"
#include "acme/jws.hpp"
#include "acme/problem.hpp"
#include "testcerts.hpp"

using namespace certhook::acme;

TEST(Base64Url, EncodesWithoutPaddingAndRoundTrips) {
  EXPECT_EQ(base64url_encode(""), "");
  EXPECT_EQ(base64url_encode("f"), "Zg");
  EXPECT_EQ(base64url_encode("fo"), "Zm8");
  EXPECT_EQ(base64url_encode("foo"), "Zm9v");
  EXPECT_EQ(base64url_encode("\xfb\xff\xfe"), "-__-");
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  EXPECT_EQ(base64url_decode(base64url_encode(all)), all);
  EXPECT_FALSE(base64url_decode("Zm9v=").has_value());
  EXPECT_FALSE(base64url_decode("Z").has_value());
  EXPECT_FALSE(base64url_decode("a+b/").has_value());
}

namespace {
nlohmann::json decode_json(const std::string &b64) {
  auto raw = base64url_decode(b64);
  EXPECT_TRUE(raw.has_value());
  return nlohmann::json::parse(*raw);
}

// Verifies a raw r||s ES256 signature with OpenSSL, independently of AccountKey::sign.
bool verify_es256(const std::string &key_pem, const std::string &data, const std::string &raw_sig) {
  if (raw_sig.size() != 64) return false;
  BIO *b = BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size()));
  EVP_PKEY *key = PEM_read_bio_PrivateKey(b, nullptr, nullptr, nullptr);
  BIO_free(b);
  ECDSA_SIG *sig = ECDSA_SIG_new();
  ECDSA_SIG_set0(sig, BN_bin2bn(reinterpret_cast<const unsigned char *>(raw_sig.data()), 32, nullptr),
                 BN_bin2bn(reinterpret_cast<const unsigned char *>(raw_sig.data()) + 32, 32, nullptr));
  unsigned char *der = nullptr;
  int der_len = i2d_ECDSA_SIG(sig, &der);
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  bool ok = EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
            EVP_DigestVerify(ctx, der, static_cast<size_t>(der_len),
                             reinterpret_cast<const unsigned char *>(data.data()), data.size()) == 1;
  EVP_MD_CTX_free(ctx);
  OPENSSL_free(der);
  ECDSA_SIG_free(sig);
  EVP_PKEY_free(key);
  return ok;
}
}  // namespace

TEST(Jws, Es256WithJwkForNewAccountAndKidAfterwards) {
  AccountKey key = AccountKey::generate();
  EXPECT_EQ(key.alg(), "ES256");
  std::string jws = jws_sign(key, "https://ca/new-acct", "nonce1", "", std::string(R"({"a":1})"));
  auto j = nlohmann::json::parse(jws);
  auto header = decode_json(j["protected"]);
  EXPECT_EQ(header["alg"], "ES256");
  EXPECT_EQ(header["nonce"], "nonce1");
  EXPECT_EQ(header["url"], "https://ca/new-acct");
  EXPECT_FALSE(header.contains("kid"));
  EXPECT_EQ(header["jwk"]["kty"], "EC");
  EXPECT_EQ(header["jwk"]["crv"], "P-256");
  EXPECT_EQ(decode_json(j["payload"])["a"], 1);
  std::string sig = *base64url_decode(j["signature"].get<std::string>());
  EXPECT_TRUE(verify_es256(key.to_pem(), j["protected"].get<std::string>() + "." + j["payload"].get<std::string>(), sig));
  // the signature must not verify for other data
  EXPECT_FALSE(verify_es256(key.to_pem(), "other", sig));

  std::string kid_jws = jws_sign(key, "https://ca/order/1", "nonce2", "https://ca/acct/7", std::nullopt);
  auto k = nlohmann::json::parse(kid_jws);
  auto kh = decode_json(k["protected"]);
  EXPECT_EQ(kh["kid"], "https://ca/acct/7");
  EXPECT_FALSE(kh.contains("jwk"));
  EXPECT_EQ(k["payload"], "");   // POST-as-GET
}

TEST(Jws, ThumbprintIsSha256OfCanonicalJwk) {
  AccountKey key = AccountKey::generate();
  const std::string &jwk = key.jwk_json();
  // canonical: members crv, kty, x, y in that order, no whitespace
  EXPECT_EQ(jwk.rfind(R"({"crv":"P-256","kty":"EC","x":")", 0), 0u) << jwk;
  EXPECT_EQ(jwk.find(' '), std::string::npos);
  unsigned char md[32];
  unsigned int len = 0;
  EVP_Digest(jwk.data(), jwk.size(), md, &len, EVP_sha256(), nullptr);
  EXPECT_EQ(key.thumbprint(), base64url_encode(std::string(reinterpret_cast<char *>(md), len)));
  EXPECT_EQ(key_authorization("tok", key), "tok." + key.thumbprint());
  // the key survives a PEM round trip with the same thumbprint
  EXPECT_EQ(AccountKey::from_pem(key.to_pem()).thumbprint(), key.thumbprint());
}

TEST(Jws, Rs256ForRsaAccountKeys) {
  auto ca = certhook::test::make_ca("x", certhook::test::KeyKind::rsa_2048);
  AccountKey key = AccountKey::from_pem(ca.key);
  EXPECT_EQ(key.alg(), "RS256");
  EXPECT_EQ(key.jwk_json().rfind(R"({"e":"AQAB","kty":"RSA","n":")", 0), 0u) << key.jwk_json();
  EXPECT_EQ(key.sign("data").size(), 256u);
}

TEST(Jws, RejectsUnusableKeys) {
  EXPECT_THROW(AccountKey::from_pem("not a key"), AcmeError);
}

#include "acme/http_client.hpp"

TEST(HttpClient, UnreadableCaBundleNamesTheOption) {
  HttpOptions o;
  o.ca_bundle = "/nonexistent/ca.pem";
  try {
    HttpClient c(o);
    FAIL() << "expected an error";
  } catch (const AcmeError &e) {
    EXPECT_EQ(std::string(e.what()).rfind("acme: ca_bundle /nonexistent/ca.pem: cannot read it", 0), 0u) << e.what();
    EXPECT_NE(std::string(e.what()).find("fix [acme] ca_bundle"), std::string::npos);
  }
}
