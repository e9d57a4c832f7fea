// Lineage directories: locating their files, the cheap leaf fingerprint, full inspection (OpenSSL).
#include "store/lineage.hpp"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <memory>

#include "util/crypto.hpp"

namespace certhook {
namespace {

template <class T, void (*F)(T *)>
struct Deleter {
  void operator()(T *p) const { F(p); }
};
void bio_free(BIO *b) { BIO_free(b); }
using Bio = std::unique_ptr<BIO, Deleter<BIO, bio_free>>;
using Cert = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using PKey = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using Names = std::unique_ptr<GENERAL_NAMES, Deleter<GENERAL_NAMES, GENERAL_NAMES_free>>;

constexpr std::string_view begin_marker = "-----BEGIN CERTIFICATE-----";
constexpr std::string_view end_marker = "-----END CERTIFICATE-----";

[[noreturn]] void fail(const fs::path &p, const std::string &problem, const std::string &fix) {
  throw LineageError(p.string() + ": " + problem + "; " + fix);
}

// Reads a whole (small) file with plain POSIX calls: this runs once per lineage per run.
// With `until`, stops reading as soon as the text read so far contains it.
std::string slurp(const fs::path &p, std::string_view until = {}) {
  int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    fail(p, std::string("cannot open: ") + std::strerror(err),
         err == EACCES ? "make it readable by the user running certhook" : "check that it exists");
  }
  std::string out;
  std::array<char, 8192> buf;
  while (true) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      fail(p, std::string("cannot read: ") + std::strerror(err),
           err == EISDIR ? "replace the directory with the PEM file" : "check the file");
    }
    if (n == 0) break;
    out.append(buf.data(), static_cast<std::size_t>(n));
    if (!until.empty() && out.find(until) != std::string::npos) break;
    if (out.size() > (16u << 20)) {
      ::close(fd);
      fail(p, "larger than 16 MiB, not a PEM file", "point the lineage at the right file");
    }
  }
  ::close(fd);
  return out;
}

// A required (cert.pem, privkey.pem) or optional (chain.pem, fullchain.pem) member.
// Returns whether it is present; throws for a present but unusable entry.
bool check_member(const fs::path &p, bool required) {
  // One stat in the usual case (every run checks every lineage); lstat only to tell a missing
  // member from a dangling symlink.
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) {
    struct stat lst {};
    if (::lstat(p.c_str(), &lst) != 0) {
      if (!required) return false;
      fail(p, "missing", "a lineage needs cert.pem and privkey.pem; check the certificate's source");
    }
    std::error_code ec;
    auto target = fs::read_symlink(p, ec);
    fail(p, "dangling symlink" + (ec ? std::string() : " to " + target.string()),
         "restore the target (for certbot, the archive/ directory) or fix the link");
  }
  if (S_ISDIR(st.st_mode))
    fail(p, "is a directory, not a PEM file", "replace it with the PEM file");
  if (!S_ISREG(st.st_mode)) fail(p, "not a regular file", "replace it with the PEM file");
  return true;
}

std::chrono::system_clock::time_point to_time_point(const ASN1_TIME *t, const fs::path &p) {
  struct tm tm {};
  if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
    fail(p, "the certificate has an unreadable validity date", "reissue the certificate");
  return std::chrono::system_clock::from_time_t(::timegm(&tm));
}

std::string openssl_reason() {
  unsigned long e = ERR_peek_last_error();
  ERR_clear_error();
  if (!e) return {};
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return std::string(" (") + buf + ")";
}

// Never prompts for a passphrase: an encrypted key is reported instead.
int no_passphrase(char *, int, int, void *) { return -1; }

// Base64 decode of a PEM body, skipping whitespace, stopping at '=' or the end marker.
bool decode_base64(std::string_view in, std::string &out) {
  static const auto table = [] {
    std::array<signed char, 256> t{};
    t.fill(-1);
    const char *alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(alphabet[i])] = static_cast<signed char>(i);
    return t;
  }();
  out.clear();
  out.reserve(in.size() * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (char ch : in) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (c == '=') break;
    if (c == '\n' || c == '\r' || c == ' ' || c == '\t') continue;
    int v = table[c];
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return !out.empty();
}

}  // namespace

LineagePaths locate_lineage(const fs::path &dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    int err = errno;
    fail(dir, std::string("lineage directory not accessible: ") + std::strerror(err),
         "check the certificate's source path");
  }
  if (!S_ISDIR(st.st_mode))
    fail(dir, "not a directory", "source must be a lineage directory holding cert.pem and privkey.pem");
  LineagePaths p;
  p.dir = dir;
  p.cert = dir / "cert.pem";
  p.key = dir / "privkey.pem";
  p.chain = dir / "chain.pem";
  p.fullchain = dir / "fullchain.pem";
  check_member(p.cert, true);
  check_member(p.key, true);
  p.has_chain = check_member(p.chain, false);
  p.has_fullchain = check_member(p.fullchain, false);
  return p;
}

std::string leaf_fingerprint_of_pem(std::string_view pem) {
  auto b = pem.find(begin_marker);
  if (b == std::string_view::npos) throw LineageError("no PEM certificate block");
  b += begin_marker.size();
  auto e = pem.find(end_marker, b);
  if (e == std::string_view::npos) throw LineageError("unterminated PEM certificate block");
  std::string der;
  if (!decode_base64(pem.substr(b, e - b), der)) throw LineageError("invalid base64 in the PEM block");
  return sha256_hex(der);
}

std::string leaf_fingerprint(const fs::path &cert_pem) {
  // Reads only up to the end of the first certificate block: one read for a typical cert.pem.
  std::string text = slurp(cert_pem, end_marker);
  try {
    return leaf_fingerprint_of_pem(text);
  } catch (const LineageError &e) {
    fail(cert_pem, e.what(), "it must begin with the leaf certificate in PEM form");
  }
}

CertificateFacts inspect_lineage(const LineagePaths &paths) {
  CertificateFacts f;
  std::string cert_text = slurp(paths.cert);
  Bio cb(BIO_new_mem_buf(cert_text.data(), static_cast<int>(cert_text.size())));
  Cert cert(PEM_read_bio_X509(cb.get(), nullptr, no_passphrase, nullptr));
  if (!cert)
    fail(paths.cert, "not a PEM certificate" + openssl_reason(),
         "it must begin with the leaf certificate in PEM form");

  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (X509_digest(cert.get(), EVP_sha256(), md, &len) != 1)
    fail(paths.cert, "cannot hash the certificate" + openssl_reason(), "check the file");
  f.fingerprint = to_hex(std::string_view(reinterpret_cast<const char *>(md), len));

  Names sans(static_cast<GENERAL_NAMES *>(
      X509_get_ext_d2i(cert.get(), NID_subject_alt_name, nullptr, nullptr)));
  if (sans) {
    for (int i = 0; i < sk_GENERAL_NAME_num(sans.get()); ++i) {
      const GENERAL_NAME *g = sk_GENERAL_NAME_value(sans.get(), i);
      if (g->type != GEN_DNS) continue;
      const ASN1_IA5STRING *s = g->d.dNSName;
      f.names.emplace_back(reinterpret_cast<const char *>(ASN1_STRING_get0_data(s)),
                           static_cast<std::size_t>(ASN1_STRING_length(s)));
    }
  }
  if (f.names.empty()) {
    X509_NAME *subject = X509_get_subject_name(cert.get());
    int idx = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
    if (idx >= 0) {
      const ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, idx));
      f.names.emplace_back(reinterpret_cast<const char *>(ASN1_STRING_get0_data(s)),
                           static_cast<std::size_t>(ASN1_STRING_length(s)));
    }
  }
  f.not_before = to_time_point(X509_get0_notBefore(cert.get()), paths.cert);
  f.not_after = to_time_point(X509_get0_notAfter(cert.get()), paths.cert);

  std::string key_text = slurp(paths.key);
  Bio kb(BIO_new_mem_buf(key_text.data(), static_cast<int>(key_text.size())));
  PKey key(PEM_read_bio_PrivateKey(kb.get(), nullptr, no_passphrase, nullptr));
  // Wipe the key's text copy; the parsed key is freed by OpenSSL.
  OPENSSL_cleanse(key_text.data(), key_text.size());
  if (!key)
    fail(paths.key, "not a readable, unencrypted PEM private key" + openssl_reason(),
         "give the private key of cert.pem in PEM form without a passphrase");
  // 1: same key; 0: different; -1/-2: different types or not comparable — all a mismatch.
  f.key_matches = EVP_PKEY_eq(X509_get0_pubkey(cert.get()), key.get()) == 1;
  ERR_clear_error();
  return f;
}

std::string format_utc(std::chrono::system_clock::time_point t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  struct tm tm {};
  ::gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace certhook
