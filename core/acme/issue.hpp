// Issuing one certificate over ACME into certhook's live store: the engine's entry point.
#pragma once
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace certhook {

struct IssueRequest {
  std::string name;                     // certificate name: STATE/live/<name>
  std::vector<std::string> domains;     // all of them go into one order
  AcmeSettings acme;                    // directory, contact, ca_bundle
  ChallengeSettings challenge;
  KeyType key_type = KeyType::ecdsa_p256;
  bool reuse_key = false;               // keep the live key when it has the requested type
  fs::path state_dir;
  // How long one pending authorization or order may take before issuance stops with an error.
  Duration poll_timeout = std::chrono::minutes(2);
};

struct IssueOutcome {
  bool ok = false;
  std::string error;                    // "acme: ...", "challenge: ...", "live store: ..." when !ok
  fs::path live_dir;                    // STATE/live/<name> when ok
  bool reused_key = false;
};

// Never throws for run-time failures: they come back in IssueOutcome::error. Nothing half-done is
// published: live/<name> changes only after the whole new version is on disk.
IssueOutcome issue_certificate(const IssueRequest &request);

// Renew when now >= not_after - renew_before, or when less than a third of the lifetime is left.
bool renewal_due(std::chrono::system_clock::time_point not_before,
                 std::chrono::system_clock::time_point not_after, Duration renew_before,
                 std::chrono::system_clock::time_point now);

}  // namespace certhook
