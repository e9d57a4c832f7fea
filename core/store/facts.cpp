#include "store/facts.hpp"

#include <sys/stat.h>

namespace certhook {
namespace {

// Cheap identity of a lineage file: a changed file invalidates cached facts without reading it.
// ctime cannot be set back by a writer, so an in-place rewrite is noticed too.
std::string file_signature(const fs::path &p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return "";
  return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) + ":" + std::to_string(st.st_size) +
         ":" + std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) + ":" +
         std::to_string(st.st_ctim.tv_sec) + "." + std::to_string(st.st_ctim.tv_nsec);
}

}  // namespace

CachedFacts current_facts(const LineagePaths &paths, std::optional<CachedFacts> &cache, bool *inspected) {
  if (inspected) *inspected = false;
  const std::string cert_sig = file_signature(paths.cert);
  const std::string key_sig = file_signature(paths.key);
  const bool unchanged = cache && !cert_sig.empty() && cache->cert_signature == cert_sig &&
                         cache->key_digest == key_sig;
  const std::string fp = unchanged ? cache->fingerprint : leaf_fingerprint(paths.cert);
  if (cache && cache->fingerprint == fp && cache->key_digest == key_sig) {
    cache->cert_signature = cert_sig;
    return *cache;
  }
  CertificateFacts f = inspect_lineage(paths);
  cache = CachedFacts{f.fingerprint, key_sig, f.names, format_utc(f.not_before),
                      format_utc(f.not_after), f.key_matches, cert_sig};
  if (inspected) *inspected = true;
  return *cache;
}

}  // namespace certhook
