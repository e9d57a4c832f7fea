#include <gtest/gtest.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "acme/cert_key.hpp"
#include "acme/issue.hpp"
#include "acme/poll.hpp"
#include "acme/problem.hpp"
#include "testcerts.hpp"

using namespace certhook;
using namespace certhook::acme;
using namespace std::chrono_literals;

TEST(Problem, ShowsTypeDetailAndSubproblems) {
  Problem p = parse_problem(R"({"type":"urn:ietf:params:acme:error:rejectedIdentifier",
      "detail":"Error creating new order","status":400,
      "subproblems":[{"type":"urn:ietf:params:acme:error:malformed","detail":"bad label",
                      "identifier":{"type":"dns","value":"bad_name!"}}]})", 400);
  EXPECT_TRUE(p.is("rejectedIdentifier"));
  EXPECT_FALSE(p.is("badNonce"));
  EXPECT_EQ(p.to_string(),
            "urn:ietf:params:acme:error:rejectedIdentifier: Error creating new order; subproblems: "
            "bad_name!: urn:ietf:params:acme:error:malformed: bad label");
  AcmeProblem e(p, "new order");
  EXPECT_EQ(std::string(e.what()).rfind("acme: urn:ietf:params:acme:error:rejectedIdentifier: ", 0), 0u) << e.what();
}

TEST(Problem, NonJsonBodyStillGivesAMessage) {
  Problem p = parse_problem("<html>bad gateway</html>", 502);
  EXPECT_NE(p.to_string().find("HTTP 502"), std::string::npos) << p.to_string();
  EXPECT_NE(p.to_string().find("bad gateway"), std::string::npos);
}

TEST(Poll, DoublesFromFirstDelayUpToCap) {
  PollPolicy policy{50ms, 400ms, 10s};
  auto t0 = Clock::now();
  Poller p(policy, t0);
  EXPECT_EQ(p.next_delay(std::nullopt, t0), 50ms);
  EXPECT_EQ(p.next_delay(std::nullopt, t0), 100ms);
  EXPECT_EQ(p.next_delay(std::nullopt, t0), 200ms);
  EXPECT_EQ(p.next_delay(std::nullopt, t0), 400ms);
  EXPECT_EQ(p.next_delay(std::nullopt, t0), 400ms);
}

TEST(Poll, HonoursRetryAfterAndStopsAtDeadline) {
  PollPolicy policy{50ms, 1s, 10s};
  auto t0 = Clock::now();
  Poller p(policy, t0);
  EXPECT_EQ(p.next_delay(Millis(3000), t0), 3000ms);
  EXPECT_EQ(p.next_delay(Millis(3000), t0 + 9s), 1000ms);   // never past the deadline
  EXPECT_FALSE(p.next_delay(std::nullopt, t0 + 10s).has_value());
}

TEST(Poll, ParsesRetryAfter) {
  auto now = std::chrono::system_clock::from_time_t(784111777);   // Sun, 06 Nov 1994 08:49:37 GMT
  EXPECT_EQ(parse_retry_after("3", now), Millis(3000));
  EXPECT_EQ(parse_retry_after(" 0 ", now), Millis(0));
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now), Millis(10000));
  EXPECT_FALSE(parse_retry_after("", now).has_value());
  EXPECT_FALSE(parse_retry_after("-1", now).has_value());
  EXPECT_FALSE(parse_retry_after("soon", now).has_value());
}

TEST(CertKey, GeneratesEachKeyTypeAndACsrWithAllNames) {
  for (KeyType t : {KeyType::ecdsa_p256, KeyType::ecdsa_p384, KeyType::rsa_2048}) {
    std::string pem = generate_certificate_key(t);
    EXPECT_EQ(key_type_of(pem), t) << to_string(t);
  }
  std::string key = generate_certificate_key(KeyType::ecdsa_p256);
  std::string der = make_csr_der(key, {"a.example.test", "b.example.test"});
  const unsigned char *p = reinterpret_cast<const unsigned char *>(der.data());
  X509_REQ *req = d2i_X509_REQ(nullptr, &p, static_cast<long>(der.size()));
  ASSERT_NE(req, nullptr);
  EVP_PKEY *pub = X509_REQ_get0_pubkey(req);
  EXPECT_EQ(X509_REQ_verify(req, pub), 1);
  STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(req);
  auto *names = static_cast<GENERAL_NAMES *>(X509V3_get_d2i(exts, NID_subject_alt_name, nullptr, nullptr));
  ASSERT_NE(names, nullptr);
  std::vector<std::string> got;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME *gn = sk_GENERAL_NAME_value(names, i);
    ASSERT_EQ(gn->type, GEN_DNS);
    got.emplace_back(reinterpret_cast<const char *>(ASN1_STRING_get0_data(gn->d.dNSName)),
                     static_cast<std::size_t>(ASN1_STRING_length(gn->d.dNSName)));
  }
  EXPECT_EQ(got, (std::vector<std::string>{"a.example.test", "b.example.test"}));
  GENERAL_NAMES_free(names);
  sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  X509_REQ_free(req);
}

TEST(CertKey, SplitsLeafFromChainAndMatchesKeys) {
  auto ca = test::make_ca();
  auto leaf = test::make_leaf(ca);
  auto other = test::make_leaf(ca);
  SplitChain s = split_chain(leaf.cert + "\r\n" + ca.cert);
  EXPECT_EQ(test::fingerprint_of(s.leaf), test::fingerprint_of(leaf.cert));
  EXPECT_EQ(test::fingerprint_of(s.chain), test::fingerprint_of(ca.cert));
  EXPECT_EQ(s.fullchain, s.leaf + s.chain);
  EXPECT_EQ(s.leaf.find('\r'), std::string::npos);
  EXPECT_TRUE(certificate_matches_key(s.leaf, leaf.key));
  EXPECT_FALSE(certificate_matches_key(s.leaf, other.key));
  EXPECT_THROW(split_chain("no certificates here"), AcmeError);
}

TEST(Renewal, DueAtRenewBeforeOrWhenAThirdOfTheLifetimeIsLeft) {
  using namespace std::chrono;
  auto nb = system_clock::time_point(sys_days(year(2030) / 1 / 1));
  auto na = nb + days(90);
  Duration renew_before = duration_cast<Duration>(days(30));
  EXPECT_FALSE(renewal_due(nb, na, renew_before, nb + days(10)));
  EXPECT_FALSE(renewal_due(nb, na, renew_before, na - days(31)));
  EXPECT_TRUE(renewal_due(nb, na, renew_before, na - days(30)));
  EXPECT_TRUE(renewal_due(nb, na, renew_before, na + days(1)));
  // 5-year certificate, 30d renew_before: the third-of-lifetime rule decides
  auto na5 = nb + days(5 * 365);
  EXPECT_FALSE(renewal_due(nb, na5, renew_before, na5 - days(5 * 365 / 3 + 1)));
  EXPECT_TRUE(renewal_due(nb, na5, renew_before, na5 - days(5 * 365 / 3 - 1)));
  // renew_before longer than the lifetime: always due
  EXPECT_TRUE(renewal_due(nb, na, duration_cast<Duration>(days(100)), nb));
}
