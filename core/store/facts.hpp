// Facts about a lineage's current certificate, served from the journal's cache while neither
// cert.pem nor the key file changed: a run with nothing to do reads no certificate at all.
#pragma once
#include <optional>

#include "store/journal.hpp"
#include "store/lineage.hpp"

namespace certhook {

// Returns the facts of paths.cert/paths.key and updates `cache`. The files are read only when
// their identity (device, inode, size, mtime, ctime) differs from the cached one; they are
// parsed only when the fingerprint changed. *inspected says whether they were parsed.
// Throws LineageError.
CachedFacts current_facts(const LineagePaths &paths, std::optional<CachedFacts> &cache,
                          bool *inspected = nullptr);

}  // namespace certhook
