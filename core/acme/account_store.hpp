// ACME accounts on disk, one per directory URL (DESIGN §2):
// STATE/accounts/<sha256 hex of the directory URL>/{account.key (0600), registration.json}, dir 0700.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "acme/jws.hpp"

namespace certhook::acme {

namespace fs = std::filesystem;

struct StoredAccount {
  fs::path dir;
  AccountKey key;
  bool new_key = false;               // generated just now
  std::string url;                    // account URL from the last registration, "" if none
  std::vector<std::string> contact;   // contact as last registered
};

fs::path account_dir(const fs::path &state_dir, std::string_view directory_url);

// Loads the account key for this directory, or generates one and stores it (0600 in a 0700 dir)
// before it is ever used. Throws AcmeError naming the path on unreadable or unusable files.
StoredAccount load_or_create_account(const fs::path &state_dir, std::string_view directory_url);

// Records the registration (account URL, contact) atomically.
void save_registration(const StoredAccount &account, std::string_view directory_url);

}  // namespace certhook::acme
