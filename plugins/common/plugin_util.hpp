// Small helpers over the C ABI shared by the first-party plugins (header-only; plugin.h only).
#pragma once
#include <certhook/plugin.h>

#include <exception>
#include <string>
#include <vector>

namespace certhook::plugins {

// A string-list option into `out`; false when unset.
inline bool read_list(const certhook_host_api *host, certhook_context *ctx, const char *key,
                      std::vector<std::string> &out) {
  size_t n = 0;
  if (!host->option_list_size(ctx, key, &n)) return false;
  out.clear();
  for (size_t i = 0; i < n; ++i) {
    const char *item = host->option_list_item(ctx, key, i);
    out.emplace_back(item ? item : "");
  }
  return true;
}

// "a.test, b.test" — at most five names, then "... (N in all)".
inline std::string certificate_list(const certhook_deploy_event *event) {
  std::string names;
  for (size_t i = 0; event && i < event->certificate_count; ++i) {
    const certhook_certificate *c = event->certificates[i];
    if (!c || !c->name) continue;
    if (i == 5) return names + ", ... (" + std::to_string(event->certificate_count) + " in all)";
    names += (names.empty() ? "" : ", ") + std::string(c->name);
  }
  return names.empty() ? "no certificates" : names;
}

// Runs body() and turns any exception into FAILED with "PLUGIN: CALL: what": nothing crosses the ABI.
template <class Body>
certhook_status guarded(const certhook_host_api *host, certhook_context *ctx, const char *plugin,
                        const char *call, Body &&body) noexcept {
  try {
    return body();
  } catch (const std::exception &e) {
    host->set_message(ctx, (std::string(plugin) + ": " + call + ": " + e.what()).c_str());
  } catch (...) {
    host->set_message(ctx, (std::string(plugin) + ": " + call + ": unexpected error").c_str());
  }
  return CERTHOOK_FAILED;
}

}  // namespace certhook::plugins
