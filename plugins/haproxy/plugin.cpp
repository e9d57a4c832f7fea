// The `haproxy` plugin (per certificate): hot-updates a certificate over HAProxy's runtime API.
// Built only against the certhook SDK's C header; no exception leaves this file.
#include <certhook/plugin.h>

#include <chrono>
#include <exception>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "hot_update.hpp"

namespace {

using certhook::haproxy::Settings;

const certhook_host_api *host = nullptr;

const certhook_option_spec options[] = {
    {"socket", CERTHOOK_OPTION_STRING, CERTHOOK_OPTION_REQUIRED, nullptr,
     "HAProxy stats socket at level admin: a Unix socket path or host:port"},
    {"cert_file", CERTHOOK_OPTION_STRING, CERTHOOK_OPTION_REQUIRED, nullptr,
     "crt path HAProxy knows (as `show ssl cert` lists it); {name} is the certificate name"},
    {"crt_list", CERTHOOK_OPTION_STRING, 0, nullptr,
     "crt-list a certificate HAProxy does not know yet is added to (runtime and file)"},
    {"write_file", CERTHOOK_OPTION_BOOL, 0, "true",
     "also write the combined PEM to cert_file, so that a later reload keeps it"},
    {"reload_command", CERTHOOK_OPTION_STRING_LIST, 0, nullptr,
     "argv run after writing the file when the runtime API cannot be reached"},
    {"timeout", CERTHOOK_OPTION_DURATION, 0, "\"10s\"", "limit for each socket operation"},
};

struct Instance {
  Settings settings;
};

void set_message(certhook_context *ctx, const std::string &m) {
  if (host && host->set_message) host->set_message(ctx, m.c_str());
}

std::string option_string(certhook_context *ctx, const char *key) {
  const char *v = nullptr;
  return host->option_string(ctx, key, &v) && v ? v : "";
}

certhook_status create(certhook_context *ctx, void **instance) try {
  auto inst = std::make_unique<Instance>();
  Settings &s = inst->settings;
  s.socket = option_string(ctx, "socket");
  s.cert_file = option_string(ctx, "cert_file");
  s.crt_list = option_string(ctx, "crt_list");
  if (s.socket.empty() || s.cert_file.empty()) {
    set_message(ctx, std::string("haproxy: option ") + (s.socket.empty() ? "socket" : "cert_file") +
                         " is required (e.g. socket = \"/run/haproxy/admin.sock\", cert_file = "
                         "\"/etc/haproxy/certs/{name}.pem\")");
    return CERTHOOK_PERMANENT;
  }
  for (const auto *v : {&s.cert_file, &s.crt_list, &s.socket})
    if (v->find_first_of(" \t\r\n") != std::string::npos) {
      set_message(ctx, "haproxy: \"" + *v + "\" contains whitespace, which the runtime API cannot "
                       "address (socket, cert_file and crt_list are sent as command words)");
      return CERTHOOK_PERMANENT;
    }
  int flag = 1;
  if (host->option_bool(ctx, "write_file", &flag)) s.write_file = flag != 0;
  size_t n = 0;
  if (host->option_list_size(ctx, "reload_command", &n))
    for (size_t i = 0; i < n; ++i)
      if (const char *item = host->option_list_item(ctx, "reload_command", i)) s.reload_command.emplace_back(item);
  int64_t ms = 0;
  if (host->option_duration_ms(ctx, "timeout", &ms)) {
    if (ms <= 0) {
      set_message(ctx, "haproxy: option timeout must be positive (e.g. \"10s\")");
      return CERTHOOK_PERMANENT;
    }
    s.timeout = std::chrono::milliseconds(ms);
  }
  *instance = inst.release();
  return CERTHOOK_OK;
} catch (const std::exception &e) {
  set_message(ctx, std::string("haproxy: ") + e.what());
  return CERTHOOK_FAILED;
} catch (...) {
  set_message(ctx, "haproxy: unknown error while reading options");
  return CERTHOOK_FAILED;
}

certhook::haproxy::Logger logger(certhook_context *ctx) {
  return [ctx](int level, const std::string &m) {
    if (host && host->log) host->log(ctx, level, m.c_str());
  };
}

std::string str(const char *s) { return s ? s : ""; }

certhook_status deploy(void *instance, certhook_context *ctx, const certhook_deploy_event *event) try {
  const auto &s = static_cast<Instance *>(instance)->settings;
  if (!event || event->certificate_count == 0) {
    set_message(ctx, "haproxy: the deploy event carries no certificate");
    return CERTHOOK_PERMANENT;
  }
  std::string messages;
  int worst = CERTHOOK_OK;
  for (size_t i = 0; i < event->certificate_count; ++i) {
    const certhook_certificate *c = event->certificates[i];
    certhook::haproxy::CertificateFiles files{str(c->name), str(c->cert_path), str(c->key_path),
                                              str(c->chain_path), str(c->fullchain_path)};
    auto r = certhook::haproxy::hot_update(s, files, logger(ctx));
    if (r.status != CERTHOOK_OK) {
      if (worst == CERTHOOK_OK || r.status == CERTHOOK_FAILED) worst = r.status;
      messages += (messages.empty() ? "" : "; ") + r.message;
    } else if (host->log) {
      host->log(ctx, CERTHOOK_LOG_INFO, r.message.c_str());
    }
  }
  if (worst != CERTHOOK_OK) set_message(ctx, messages);
  return static_cast<certhook_status>(worst);
} catch (const std::exception &e) {
  set_message(ctx, std::string("haproxy: ") + e.what());
  return CERTHOOK_FAILED;
} catch (...) {
  set_message(ctx, "haproxy: unknown error");
  return CERTHOOK_FAILED;
}

certhook_status preflight(void *instance, certhook_context *ctx, const certhook_deploy_event *event) try {
  const auto &s = static_cast<Instance *>(instance)->settings;
  std::vector<std::string> names;
  if (event)
    for (size_t i = 0; i < event->certificate_count; ++i) names.push_back(str(event->certificates[i]->name));
  auto r = certhook::haproxy::check_ready(s, names, logger(ctx));
  if (r.status != CERTHOOK_OK) set_message(ctx, r.message);
  return static_cast<certhook_status>(r.status);
} catch (const std::exception &e) {
  set_message(ctx, std::string("haproxy: ") + e.what());
  return CERTHOOK_FAILED;
} catch (...) {
  set_message(ctx, "haproxy: unknown error");
  return CERTHOOK_FAILED;
}

void destroy(void *instance) { delete static_cast<Instance *>(instance); }

const certhook_plugin descriptor = {
    sizeof(certhook_plugin), CERTHOOK_ABI_MAJOR, CERTHOOK_ABI_MINOR,
    "haproxy", "1.0.0",
    "hot-updates a certificate over HAProxy's runtime API (no reload)",
    0, options, sizeof options / sizeof options[0],
    create, deploy, preflight, nullptr, destroy,
};

}  // namespace

extern "C" CERTHOOK_PLUGIN_EXPORT const certhook_plugin *certhook_plugin_entry(const certhook_host_api *api) {
  host = api;
  return &descriptor;
}
