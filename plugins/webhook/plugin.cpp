// The `webhook` plugin (per certificate): tells an HTTP(S) endpoint that a certificate was
// deployed. Built only against the certhook SDK's C header; no exception leaves this file; the
// secret never appears in a message.
#include <certhook/plugin.h>

#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "body.hpp"
#include "http_call.hpp"

namespace {

const certhook_host_api *host = nullptr;

const certhook_option_spec options[] = {
    {"url", CERTHOOK_OPTION_URL, CERTHOOK_OPTION_REQUIRED, nullptr, "endpoint (http:// or https://)"},
    {"method", CERTHOOK_OPTION_STRING, 0, "\"POST\"", "HTTP method"},
    {"headers", CERTHOOK_OPTION_TABLE, 0, nullptr, "extra request headers"},
    {"secret", CERTHOOK_OPTION_STRING, CERTHOOK_OPTION_SECRET, nullptr,
     "adds X-Certhook-Signature: sha256=<hex HMAC-SHA256 of the body>"},
    {"ca_bundle", CERTHOOK_OPTION_PATH, 0, nullptr,
     "PEM file of CAs trusted in addition to the system's"},
    {"timeout", CERTHOOK_OPTION_DURATION, 0, "\"30s\"", "limit for the whole request"},
};

struct Instance {
  certhook::webhook::Request request;   // body left empty
  std::string secret;
};

void set_message(certhook_context *ctx, const std::string &m) {
  if (host && host->set_message) host->set_message(ctx, m.c_str());
}

std::string option_string(certhook_context *ctx, const char *key) {
  const char *v = nullptr;
  return host->option_string(ctx, key, &v) && v ? v : "";
}

certhook_status refuse(certhook_context *ctx, const std::string &why) {
  set_message(ctx, "webhook: " + why);
  return CERTHOOK_PERMANENT;
}

certhook_status create(certhook_context *ctx, void **instance) try {
  auto inst = std::make_unique<Instance>();
  auto &r = inst->request;
  r.url = option_string(ctx, "url");
  if (r.url.empty()) return refuse(ctx, "option url is required (e.g. url = \"https://example.com/hook\")");
  if (r.url.rfind("http://", 0) != 0 && r.url.rfind("https://", 0) != 0)
    return refuse(ctx, "url: \"" + certhook::webhook::display_url(r.url) + "\" must start with http:// or https://");
  std::string method = option_string(ctx, "method");
  if (!method.empty()) r.method = method;
  if (auto bad = certhook::webhook::bad_method(r.method); !bad.empty()) return refuse(ctx, bad);
  size_t n = 0;
  if (host->option_table_size(ctx, "headers", &n)) {
    for (size_t i = 0; i < n; ++i) {
      const char *k = host->option_table_key(ctx, "headers", i);
      const char *v = host->option_table_value(ctx, "headers", i);
      if (!k || !v) return refuse(ctx, "headers: every value must be a string");
      if (auto bad = certhook::webhook::bad_header(k, v); !bad.empty()) return refuse(ctx, bad);
      r.headers.emplace_back(k, v);
    }
  }
  inst->secret = option_string(ctx, "secret");
  r.ca_bundle = option_string(ctx, "ca_bundle");
  if (!r.ca_bundle.empty())
    if (auto bad = certhook::webhook::check_ca_bundle(r.ca_bundle); !bad.empty()) return refuse(ctx, bad);
  int64_t ms = 0;
  if (host->option_duration_ms(ctx, "timeout", &ms)) {
    if (ms <= 0) return refuse(ctx, "timeout must be positive (e.g. \"30s\")");
    r.timeout_ms = static_cast<long>(ms);
  }
  *instance = inst.release();
  return CERTHOOK_OK;
} catch (const std::exception &e) {
  set_message(ctx, std::string("webhook: ") + e.what());
  return CERTHOOK_FAILED;
} catch (...) {
  set_message(ctx, "webhook: unknown error while reading options");
  return CERTHOOK_FAILED;
}

std::string str(const char *s) { return s ? s : ""; }

certhook_status deploy(void *instance, certhook_context *ctx, const certhook_deploy_event *event) try {
  const auto *inst = static_cast<Instance *>(instance);
  if (!event || event->certificate_count == 0) return refuse(ctx, "the deploy event carries no certificate");
  int worst = CERTHOOK_OK;
  std::string messages;
  for (size_t i = 0; i < event->certificate_count; ++i) {
    const certhook_certificate *c = event->certificates[i];
    certhook::webhook::Notice notice;
    notice.certificate = str(c->name);
    for (size_t d = 0; d < c->domain_count; ++d) notice.domains.push_back(str(c->domains[d]));
    notice.fingerprint = str(c->fingerprint);
    notice.not_after = str(c->not_after);
    notice.reason = str(c->reason);
    notice.hook = str(event->hook);
    notice.attempt = event->attempt;
    certhook::webhook::Request request = inst->request;
    request.body = certhook::webhook::json_body(notice);
    if (!inst->secret.empty())
      request.headers.emplace_back("X-Certhook-Signature",
                                   "sha256=" + certhook::webhook::hmac_sha256_hex(inst->secret, request.body));
    auto r = certhook::webhook::send(request);
    if (r.status == CERTHOOK_OK) {
      if (host->log) host->log(ctx, CERTHOOK_LOG_INFO, (notice.certificate + ": " + r.message).c_str());
      continue;
    }
    if (worst == CERTHOOK_OK || r.status == CERTHOOK_FAILED) worst = r.status;
    messages += (messages.empty() ? "" : "; ") + r.message;
  }
  if (worst != CERTHOOK_OK) set_message(ctx, "webhook " + messages);
  return static_cast<certhook_status>(worst);
} catch (const std::exception &e) {
  set_message(ctx, std::string("webhook: ") + e.what());
  return CERTHOOK_FAILED;
} catch (...) {
  set_message(ctx, "webhook: unknown error");
  return CERTHOOK_FAILED;
}

// Options were checked in create. Reachability: connect (and verify TLS) but send no request,
// since any request would notify the endpoint.
certhook_status preflight(void *instance, certhook_context *ctx, const certhook_deploy_event *) try {
  auto r = certhook::webhook::probe(static_cast<Instance *>(instance)->request);
  if (r.status != CERTHOOK_OK) set_message(ctx, "webhook " + r.message);
  return static_cast<certhook_status>(r.status);
} catch (const std::exception &e) {
  set_message(ctx, std::string("webhook: ") + e.what());
  return CERTHOOK_FAILED;
} catch (...) {
  set_message(ctx, "webhook: unknown error");
  return CERTHOOK_FAILED;
}

void destroy(void *instance) { delete static_cast<Instance *>(instance); }

const certhook_plugin descriptor = {
    sizeof(certhook_plugin), CERTHOOK_ABI_MAJOR, CERTHOOK_ABI_MINOR,
    "webhook", "1.0.0",
    "notifies an HTTP(S) endpoint of a deployed certificate (JSON, optional HMAC signature)",
    0, options, sizeof options / sizeof options[0],
    create, deploy, preflight, nullptr, destroy,
};

}  // namespace

extern "C" CERTHOOK_PLUGIN_EXPORT const certhook_plugin *certhook_plugin_entry(const certhook_host_api *api) {
  host = api;
  return &descriptor;
}
