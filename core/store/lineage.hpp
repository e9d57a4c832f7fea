// A lineage: a directory holding one certificate version as cert.pem, privkey.pem and, optionally,
// chain.pem and fullchain.pem (certbot's live/NAME layout; certhook's own live/NAME is the same).
#pragma once
#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace certhook {

namespace fs = std::filesystem;

struct LineagePaths {
  fs::path dir;          // as configured (not resolved), e.g. /etc/letsencrypt/live/example.com
  fs::path cert, key, chain, fullchain;
  bool has_chain = false, has_fullchain = false;   // fullchain = cert + chain when absent
};

struct CertificateFacts {
  std::string fingerprint;                         // SHA-256 of the leaf DER, lowercase hex
  std::vector<std::string> names;                  // DNS SANs (CN when there are none)
  std::chrono::system_clock::time_point not_before, not_after;
  bool key_matches = false;
};

// A problem with a lineage, worded for the operator: "path: problem; fix".
struct LineageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Locates the files of a lineage directory; throws LineageError when cert.pem or privkey.pem
// is missing.
LineagePaths locate_lineage(const fs::path &dir);

// The leaf's fingerprint without parsing X.509: decode the first PEM block and hash it.
// This is the cheap check that decides whether cached facts are still valid.
std::string leaf_fingerprint(const fs::path &cert_pem);
std::string leaf_fingerprint_of_pem(std::string_view pem);

// Full inspection: parses the leaf and the key, and checks that the key matches the certificate
// (a key of another type is a mismatch). Throws LineageError.
CertificateFacts inspect_lineage(const LineagePaths &paths);

// "YYYY-MM-DDTHH:MM:SSZ"
std::string format_utc(std::chrono::system_clock::time_point t);

}  // namespace certhook
