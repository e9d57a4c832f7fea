// The journal: per certificate, what each enabled hook last deployed (DESIGN §2), plus cached facts
// about the current certificate so that a run with nothing to do need not parse certificates.
// One JSON file per certificate: STATE/journal/<name>.json, replaced atomically.
#pragma once
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "store/lineage.hpp"

namespace certhook {

struct HookRecord {
  std::string deployed_fingerprint;  // last fingerprint deployed (and verified, where configured)
  std::string config_hash;           // hash of the hook's effective config at that deploy
  int attempts = 0;                  // consecutive failed attempts since the last success
  std::string last_error;
  std::string updated;               // UTC time of the last change
};

// Facts about one certificate version, valid while fingerprint (and key digest) match.
struct CachedFacts {
  std::string fingerprint;
  std::string key_digest;            // identity of the key file (device, inode, size, mtime, ctime)
  std::vector<std::string> names;
  std::string not_before, not_after; // UTC, YYYY-MM-DDTHH:MM:SSZ
  bool key_matches = false;
  std::string cert_signature;        // identity of cert.pem, same form: unchanged means not re-read
};

// Where the current certificate came from, so that retries of its deploy keep the reason.
struct Origin {
  std::string fingerprint;
  std::string reason;                // issued | renewed
};

// Issuance failures, so a broken name backs off across runs instead of hammering the CA.
struct IssuanceRecord {
  int failures = 0;
  std::string last_error;
  std::string next_attempt;          // UTC; empty when not backing off
};

struct CertificateJournal {
  std::map<std::string, HookRecord> hooks;   // key: hook name or "hooks.d/deploy/<file>"
  std::optional<CachedFacts> facts;
  std::optional<Origin> origin;
  IssuanceRecord issuance;
};

class Journal {
 public:
  explicit Journal(std::filesystem::path state_dir);

  // Loads NAME's journal; a missing file is an empty journal. A damaged file is reported through
  // *warning and treated as empty (its hooks run again, which is safe).
  CertificateJournal load(const std::string &name, std::string *warning = nullptr) const;

  // Replaces NAME's journal atomically. With durable=false the data is renamed into place but not
  // fsynced; call sync() before the command ends. A crash in between can only lose records (hooks
  // then run again), never invent one.
  void save(const std::string &name, const CertificateJournal &j, bool durable = true);
  void sync();

  std::filesystem::path path_of(const std::string &name) const;

 private:
  std::filesystem::path dir_;
  std::set<std::string> unsynced_;
};

std::string now_utc();

}  // namespace certhook
