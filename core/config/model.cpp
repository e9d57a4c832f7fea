// The small, library-free parts of the configuration model.
#include <algorithm>

#include "config/config.hpp"

namespace certhook {

const char *to_string(KeyType k) {
  switch (k) {
    case KeyType::ecdsa_p256: return "ecdsa-p256";
    case KeyType::ecdsa_p384: return "ecdsa-p384";
    case KeyType::rsa_2048: return "rsa-2048";
    case KeyType::rsa_3072: return "rsa-3072";
    case KeyType::rsa_4096: return "rsa-4096";
  }
  return "?";
}

std::optional<KeyType> parse_key_type(std::string_view s) {
  for (KeyType k : {KeyType::ecdsa_p256, KeyType::ecdsa_p384, KeyType::rsa_2048, KeyType::rsa_3072,
                    KeyType::rsa_4096})
    if (s == to_string(k)) return k;
  return std::nullopt;
}

const HookConfig *Config::find_hook(std::string_view name) const {
  for (const auto &h : hooks)
    if (h.name == name) return &h;
  return nullptr;
}

const CertificateConfig *Config::find_certificate(std::string_view name) const {
  for (const auto &c : certificates)
    if (c.name == name) return &c;
  return nullptr;
}

fs::path Config::resolve(const fs::path &p) const {
  if (p.empty() || p.is_absolute()) return p;
  return (file.parent_path() / p).lexically_normal();
}

void sort_by_location(Diagnostics &ds) {
  std::stable_sort(ds.begin(), ds.end(), [](const Diagnostic &a, const Diagnostic &b) {
    // Diagnostics without a line (e.g. about hooks.d files) go after the located ones.
    auto rank = [](const Diagnostic &d) { return d.where.line > 0 ? 0 : 1; };
    if (rank(a) != rank(b)) return rank(a) < rank(b);
    if (a.where.file != b.where.file) return a.where.file < b.where.file;
    if (a.where.line != b.where.line) return a.where.line < b.where.line;
    return a.where.column < b.where.column;
  });
}

Diagnostics LoadResult::all() const {
  Diagnostics out = fatal;
  if (config) {
    for (const auto &h : config->hooks) out.insert(out.end(), h.errors.begin(), h.errors.end());
    for (const auto &c : config->certificates)
      out.insert(out.end(), c.errors.begin(), c.errors.end());
  }
  out.insert(out.end(), warnings.begin(), warnings.end());
  sort_by_location(out);
  return out;
}

}  // namespace certhook
