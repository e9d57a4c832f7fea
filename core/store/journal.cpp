#include "store/journal.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <cerrno>
#include <ctime>
#include <system_error>

#include "util/atomic_file.hpp"

namespace certhook {
namespace {

using nlohmann::json;

json to_json(const CertificateJournal &j) {
  json hooks = json::object();
  for (const auto &[name, r] : j.hooks)
    hooks[name] = {{"deployed_fingerprint", r.deployed_fingerprint},
                   {"config_hash", r.config_hash},
                   {"attempts", r.attempts},
                   {"last_error", r.last_error},
                   {"updated", r.updated}};
  json out = {{"version", 1}, {"hooks", hooks}};
  if (j.facts)
    out["facts"] = {{"fingerprint", j.facts->fingerprint}, {"key_digest", j.facts->key_digest},
                    {"names", j.facts->names},             {"not_before", j.facts->not_before},
                    {"not_after", j.facts->not_after},     {"key_matches", j.facts->key_matches},
                    {"cert_signature", j.facts->cert_signature}};
  if (j.origin) out["origin"] = {{"fingerprint", j.origin->fingerprint}, {"reason", j.origin->reason}};
  if (j.issuance.failures || !j.issuance.last_error.empty())
    out["issuance"] = {{"failures", j.issuance.failures},
                       {"last_error", j.issuance.last_error},
                       {"next_attempt", j.issuance.next_attempt}};
  return out;
}

CertificateJournal from_json(const json &in) {
  CertificateJournal j;
  for (const auto &[name, r] : in.at("hooks").items())
    j.hooks[name] = {r.value("deployed_fingerprint", ""), r.value("config_hash", ""),
                     r.value("attempts", 0), r.value("last_error", ""), r.value("updated", "")};
  if (auto f = in.find("facts"); f != in.end())
    j.facts = CachedFacts{f->value("fingerprint", ""), f->value("key_digest", ""),
                          f->value("names", std::vector<std::string>{}), f->value("not_before", ""),
                          f->value("not_after", ""), f->value("key_matches", false),
                          f->value("cert_signature", "")};
  if (auto o = in.find("origin"); o != in.end())
    j.origin = Origin{o->value("fingerprint", ""), o->value("reason", "")};
  if (auto i = in.find("issuance"); i != in.end())
    j.issuance = {i->value("failures", 0), i->value("last_error", ""), i->value("next_attempt", "")};
  return j;
}

}  // namespace

std::string now_utc() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Journal::Journal(std::filesystem::path state_dir) : dir_(std::move(state_dir) / "journal") {}

std::filesystem::path Journal::path_of(const std::string &name) const { return dir_ / (name + ".json"); }

CertificateJournal Journal::load(const std::string &name, std::string *warning) const {
  std::string text;
  try {
    text = read_file(path_of(name));
  } catch (const std::system_error &e) {
    if (e.code().value() == ENOENT) return {};
    if (warning) *warning = e.what();
    return {};
  }
  try {
    return from_json(json::parse(text));
  } catch (const std::exception &e) {
    if (warning)
      *warning = path_of(name).string() + ": damaged journal (" + e.what() +
                 "); its hooks are treated as not deployed and will run again";
    return {};
  }
}

void Journal::save(const std::string &name, const CertificateJournal &j, bool durable) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir_, ec)) {
    std::filesystem::create_directories(dir_);
    std::filesystem::permissions(dir_, std::filesystem::perms::owner_all);
  }
  write_file_atomic(path_of(name), to_json(j).dump(1), 0600, durable);
  if (durable) unsynced_.erase(name);
  else unsynced_.insert(name);
}

void Journal::sync() {
  if (unsynced_.empty()) return;
  for (const auto &name : unsynced_) {
    int fd = ::open(path_of(name).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      ::fsync(fd);
      ::close(fd);
    }
  }
  sync_directory(dir_);
  unsynced_.clear();
}

}  // namespace certhook
