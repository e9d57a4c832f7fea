// TLS verification: which certificate does a server really serve?
// One handshake per probe, with SNI, no session reuse and no chain validation: the point is to
// compare the served leaf's fingerprint with the one just deployed, not to judge trust.
// OpenSSL stays inside tls_probe.cpp.
#pragma once
#include <stdexcept>
#include <string>

#include "util/duration.hpp"

namespace certhook {

// A probe that could not obtain a certificate. what() reads
// "verify: HOST:PORT: connection refused", "verify: HOST:PORT: handshake failed: ...", ...
struct VerifyError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// One TLS handshake to `connect` ("host:port", "[v6addr]:port") sending `server_name` as SNI
// (none when empty or an IP literal). Returns the leaf's SHA-256 DER fingerprint, lowercase hex
// without colons. Connect and handshake are bounded by `timeout` (name resolution is not: use
// an address when that matters).
// Throws VerifyError (also for a malformed `connect`).
std::string served_fingerprint(const std::string &connect, const std::string &server_name,
                               Duration timeout);

struct VerifyOutcome {
  bool ok = false;
  std::string served;    // the last fingerprint served ("" when no handshake succeeded)
  std::string message;   // on failure: names expected and served fingerprints, or the last error
  int handshakes = 0;    // probes attempted
  Duration elapsed{0};
};

// Polls handshakes until the served leaf equals `expected` (lowercase hex; colons and case are
// ignored) or `timeout` has passed. The first retry comes after 10 ms and the interval grows
// by half each time up to 250 ms, never past the deadline; at least one handshake is made.
// Servers that reload gracefully keep old workers answering with the old certificate for a while
// (nginx: ~100 ms), so one look is never enough. Never throws for network errors.
VerifyOutcome wait_for_fingerprint(const std::string &connect, const std::string &server_name,
                                   const std::string &expected, Duration timeout);

// "ab:CD:01" -> "abcd01": the one fingerprint form certhook compares and prints.
std::string normalize_fingerprint(const std::string &fingerprint);

}  // namespace certhook
