#include "acme/account_store.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <system_error>

#include "acme/problem.hpp"
#include "util/atomic_file.hpp"
#include "util/crypto.hpp"

namespace certhook::acme {

namespace {
constexpr const char *key_file = "account.key";
constexpr const char *registration_file = "registration.json";

void make_private_dir(const fs::path &dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw AcmeError("acme: " + dir.string() + ": cannot create the account directory: " + ec.message());
  if (::chmod(dir.c_str(), 0700) != 0)
    throw AcmeError("acme: " + dir.string() + ": cannot set mode 0700: " + std::strerror(errno));
}
}  // namespace

fs::path account_dir(const fs::path &state_dir, std::string_view directory_url) {
  return state_dir / "accounts" / sha256_hex(directory_url);
}

StoredAccount load_or_create_account(const fs::path &state_dir, std::string_view directory_url) {
  fs::path dir = account_dir(state_dir, directory_url);
  make_private_dir(dir);
  fs::path key_path = dir / key_file;
  std::error_code ec;
  if (!fs::exists(key_path, ec)) {
    AccountKey key = AccountKey::generate();
    try {
      write_file_atomic(key_path, key.to_pem(), 0600);
    } catch (const std::system_error &e) {
      throw AcmeError(std::string("acme: cannot store the account key: ") + e.what());
    }
    spdlog::debug("acme: new account key in {}", dir.string());
    return StoredAccount{dir, std::move(key), true, {}, {}};
  }
  std::string pem;
  try {
    pem = read_file(key_path);
  } catch (const std::system_error &e) {
    throw AcmeError(std::string("acme: cannot read the account key: ") + e.what());
  }
  struct stat st {};
  if (::stat(key_path.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
    spdlog::warn("acme: {}: account key was readable by others; setting mode 0600", key_path.string());
    ::chmod(key_path.c_str(), 0600);
  }
  AccountKey key = [&] {
    try {
      return AccountKey::from_pem(pem);
    } catch (const AcmeError &e) {
      throw AcmeError(key_path.string() + ": " + e.what() +
                      "; move the file away to register a new account");
    }
  }();
  StoredAccount account{dir, std::move(key), false, {}, {}};
  fs::path reg_path = dir / registration_file;
  if (fs::exists(reg_path, ec)) {
    try {
      auto j = nlohmann::json::parse(read_file(reg_path));
      account.url = j.value("url", "");
      if (auto it = j.find("contact"); it != j.end() && it->is_array())
        for (const auto &c : *it)
          if (c.is_string()) account.contact.push_back(c.get<std::string>());
    } catch (const std::exception &e) {
      // The registration is a cache of what the server knows: re-registering recovers it.
      spdlog::warn("acme: {}: unreadable registration, registering again ({})", reg_path.string(), e.what());
    }
  }
  return account;
}

void save_registration(const StoredAccount &account, std::string_view directory_url) {
  nlohmann::json j;
  j["directory"] = std::string(directory_url);
  j["url"] = account.url;
  j["contact"] = account.contact;
  try {
    write_file_atomic(account.dir / registration_file, j.dump(2) + "\n", 0600);
  } catch (const std::system_error &e) {
    throw AcmeError(std::string("acme: cannot store the account registration: ") + e.what());
  }
}

}  // namespace certhook::acme
