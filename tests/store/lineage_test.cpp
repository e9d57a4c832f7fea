// Lineages: locating files (certbot's symlinked layout too), fingerprints, inspection, key match.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>

#include "store/lineage.hpp"
#include "tempdir.hpp"
#include "testcerts.hpp"

using namespace certhook;
using certhook::test::KeyKind;
using certhook::test::LeafOptions;
using certhook::test::TempDir;
using certhook::test::write_text;

namespace {

struct Fixture : ::testing::Test {
  TempDir dir;
  certhook::test::Pem ca = certhook::test::make_ca();
};

std::string error_of(const std::function<void()> &f) {
  try {
    f();
  } catch (const LineageError &e) {
    return e.what();
  }
  return "(no LineageError)";
}

}  // namespace

using Lineage = Fixture;

TEST_F(Lineage, EcdsaLineage) {
  LeafOptions o;
  o.names = {"example.test", "www.example.test"};
  o.valid_for = std::chrono::hours(24 * 90);
  auto leaf = certhook::test::make_leaf(ca, o);
  certhook::test::write_lineage(dir / "live/a", leaf, ca);
  auto before = std::chrono::system_clock::now();

  LineagePaths p = locate_lineage(dir / "live/a");
  EXPECT_EQ(p.dir, dir / "live/a");
  EXPECT_EQ(p.cert, dir / "live/a/cert.pem");
  EXPECT_EQ(p.key, dir / "live/a/privkey.pem");
  EXPECT_TRUE(p.has_chain);
  EXPECT_TRUE(p.has_fullchain);

  CertificateFacts f = inspect_lineage(p);
  EXPECT_TRUE(f.key_matches);
  EXPECT_EQ(f.names, (std::vector<std::string>{"example.test", "www.example.test"}));
  EXPECT_EQ(f.fingerprint, certhook::test::fingerprint_of(leaf.cert));
  EXPECT_EQ(f.fingerprint.size(), 64u);
  // make_leaf starts validity 60 s in the past and lasts 90 days (second precision).
  EXPECT_LE(f.not_before, before - std::chrono::seconds(55));
  EXPECT_GE(f.not_before, before - std::chrono::seconds(65));
  EXPECT_EQ(f.not_after - f.not_before, std::chrono::hours(24 * 90));
}

TEST_F(Lineage, RsaLineage) {
  LeafOptions o;
  o.kind = KeyKind::rsa_2048;
  auto leaf = certhook::test::make_leaf(ca, o);
  certhook::test::write_lineage(dir / "r", leaf, ca);
  CertificateFacts f = inspect_lineage(locate_lineage(dir / "r"));
  EXPECT_TRUE(f.key_matches);
  EXPECT_EQ(f.names, std::vector<std::string>{"example.test"});
}

TEST_F(Lineage, OptionalChainFiles) {
  auto leaf = certhook::test::make_leaf(ca);
  write_text(dir / "l/cert.pem", leaf.cert);
  write_text(dir / "l/privkey.pem", leaf.key, 0600);
  LineagePaths p = locate_lineage(dir / "l");
  EXPECT_FALSE(p.has_chain);
  EXPECT_FALSE(p.has_fullchain);
  EXPECT_TRUE(inspect_lineage(p).key_matches);
}

TEST_F(Lineage, MissingFiles) {
  auto leaf = certhook::test::make_leaf(ca);
  write_text(dir / "l/cert.pem", leaf.cert);
  std::string e = error_of([&] { locate_lineage(dir / "l"); });
  EXPECT_EQ(e.rfind((dir / "l/privkey.pem").string() + ": missing; ", 0), 0u) << e;
  e = error_of([&] { locate_lineage(dir / "nothing"); });
  EXPECT_EQ(e.rfind((dir / "nothing").string() + ": lineage directory not accessible", 0), 0u) << e;
  e = error_of([&] { locate_lineage(dir / "l/cert.pem"); });
  EXPECT_NE(e.find("not a directory"), std::string::npos) << e;
}

TEST_F(Lineage, UnreadableFiles) {
  // Tests run as root, so chmod 000 would not stop a read: use a directory and a dangling link.
  auto leaf = certhook::test::make_leaf(ca);
  write_text(dir / "l/privkey.pem", leaf.key, 0600);
  std::filesystem::create_directories(dir / "l/cert.pem");
  std::string e = error_of([&] { locate_lineage(dir / "l"); });
  EXPECT_EQ(e.rfind((dir / "l/cert.pem").string() + ": is a directory", 0), 0u) << e;
  EXPECT_NE(e.find("; "), std::string::npos);

  std::filesystem::remove(dir / "l/cert.pem");
  std::filesystem::create_symlink("../archive/l/cert1.pem", dir / "l/cert.pem");
  e = error_of([&] { locate_lineage(dir / "l"); });
  EXPECT_EQ(e.rfind((dir / "l/cert.pem").string() + ": dangling symlink to ../archive/l/cert1.pem", 0), 0u) << e;

  // A lineage located while fine, then broken before inspection.
  certhook::test::write_lineage(dir / "m", leaf, ca);
  LineagePaths p = locate_lineage(dir / "m");
  std::filesystem::remove(dir / "m/privkey.pem");
  e = error_of([&] { inspect_lineage(p); });
  EXPECT_EQ(e.rfind((dir / "m/privkey.pem").string() + ": cannot open", 0), 0u) << e;
  EXPECT_THROW(leaf_fingerprint(dir / "m/nothing.pem"), LineageError);
}

TEST_F(Lineage, GarbageIsAnErrorNotACrash) {
  auto leaf = certhook::test::make_leaf(ca);
  write_text(dir / "l/cert.pem", "not a certificate\n");
  write_text(dir / "l/privkey.pem", leaf.key, 0600);
  std::string e = error_of([&] { inspect_lineage(locate_lineage(dir / "l")); });
  EXPECT_NE(e.find("cert.pem: not a PEM certificate"), std::string::npos) << e;
  e = error_of([&] { leaf_fingerprint(dir / "l/cert.pem"); });
  EXPECT_NE(e.find("cert.pem: no PEM certificate block"), std::string::npos) << e;

  write_text(dir / "l/cert.pem", leaf.cert);
  write_text(dir / "l/privkey.pem", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
  e = error_of([&] { inspect_lineage(locate_lineage(dir / "l")); });
  EXPECT_NE(e.find("privkey.pem: not a readable, unencrypted PEM private key"), std::string::npos) << e;
}

TEST_F(Lineage, SameTypeKeyMismatch) {
  auto leaf = certhook::test::make_leaf(ca);
  auto other = certhook::test::make_leaf(ca);
  certhook::test::write_lineage(dir / "l", leaf, ca);
  write_text(dir / "l/privkey.pem", other.key, 0600);
  EXPECT_FALSE(inspect_lineage(locate_lineage(dir / "l")).key_matches);
}

TEST_F(Lineage, EcdsaCertificateWithRsaKey) {
  auto leaf = certhook::test::make_leaf(ca);
  LeafOptions o;
  o.kind = KeyKind::rsa_2048;
  auto rsa = certhook::test::make_leaf(ca, o);
  certhook::test::write_lineage(dir / "l", leaf, ca);
  write_text(dir / "l/privkey.pem", rsa.key, 0600);
  CertificateFacts f = inspect_lineage(locate_lineage(dir / "l"));
  EXPECT_FALSE(f.key_matches);
  EXPECT_EQ(f.fingerprint, certhook::test::fingerprint_of(leaf.cert));
}

TEST_F(Lineage, CertbotSymlinkedLayout) {
  // live/NAME/*.pem -> ../../archive/NAME/*N.pem, as certbot writes them.
  auto v1 = certhook::test::make_leaf(ca);
  auto v2 = certhook::test::make_leaf(ca);
  const auto archive = dir / "le/archive/example.test";
  const auto live = dir / "le/live/example.test";
  for (int n : {1, 2}) {
    const auto &leaf = n == 1 ? v1 : v2;
    write_text(archive / ("cert" + std::to_string(n) + ".pem"), leaf.cert);
    write_text(archive / ("privkey" + std::to_string(n) + ".pem"), leaf.key, 0600);
    write_text(archive / ("chain" + std::to_string(n) + ".pem"), ca.cert);
    write_text(archive / ("fullchain" + std::to_string(n) + ".pem"), leaf.cert + ca.cert);
  }
  std::filesystem::create_directories(live);
  for (const char *f : {"cert", "privkey", "chain", "fullchain"})
    std::filesystem::create_symlink(std::string("../../archive/example.test/") + f + "2.pem",
                                    live / (std::string(f) + ".pem"));
  LineagePaths p = locate_lineage(live);
  EXPECT_EQ(p.cert, live / "cert.pem");   // live paths, never archive/
  EXPECT_TRUE(p.has_chain);
  EXPECT_TRUE(p.has_fullchain);
  CertificateFacts f = inspect_lineage(p);
  EXPECT_TRUE(f.key_matches);
  EXPECT_EQ(f.fingerprint, certhook::test::fingerprint_of(v2.cert));
  EXPECT_EQ(leaf_fingerprint(p.cert), certhook::test::fingerprint_of(v2.cert));
}

TEST_F(Lineage, CheapFingerprintMatchesTheDer) {
  LeafOptions o;
  o.kind = KeyKind::ec_p384;
  auto leaf = certhook::test::make_leaf(ca, o);
  write_text(dir / "cert.pem", leaf.cert);
  EXPECT_EQ(leaf_fingerprint(dir / "cert.pem"), certhook::test::fingerprint_of(leaf.cert));
  // The first block wins in a fullchain; CRLF line ends and text before the block are fine.
  std::string crlf;
  for (char c : "explanatory text\n" + leaf.cert + ca.cert) {
    if (c == '\n') crlf += '\r';
    crlf += c;
  }
  EXPECT_EQ(leaf_fingerprint_of_pem(crlf), certhook::test::fingerprint_of(leaf.cert));
  EXPECT_THROW(leaf_fingerprint_of_pem("-----BEGIN CERTIFICATE-----\n@@@@\n-----END CERTIFICATE-----\n"),
               LineageError);
  EXPECT_THROW(leaf_fingerprint_of_pem("-----BEGIN CERTIFICATE-----\nAAAA\n"), LineageError);
}

TEST(LineageTime, FormatUtc) {
  EXPECT_EQ(format_utc(std::chrono::system_clock::from_time_t(0)), "1970-01-01T00:00:00Z");
  EXPECT_EQ(format_utc(std::chrono::system_clock::from_time_t(1700000000)), "2023-11-14T22:13:20Z");
}
