// The `webhook` plugin (per certificate): tells an HTTP(S) endpoint that a certificate was
// deployed. Written on the SDK's C++ wrapper, exactly as a third-party plugin is; the secret
// never appears in a message.
#include <certhook/plugin.hpp>

#include <chrono>
#include <map>
#include <string>

#include "body.hpp"
#include "http_call.hpp"

namespace {

namespace webhook = certhook::webhook;

// A bad option: retrying cannot help.
[[noreturn]] void refuse(const std::string &why) { throw certhook::PermanentError("webhook: " + why); }

class Webhook : public certhook::Plugin {
 public:
  explicit Webhook(certhook::Context &ctx) : secret_(ctx.get_or<std::string>("secret", {})) {
    auto &r = request_;
    r.url = ctx.get_or<std::string>("url", {});
    if (r.url.empty()) refuse("option url is required (e.g. url = \"https://example.com/hook\")");
    if (r.url.rfind("http://", 0) != 0 && r.url.rfind("https://", 0) != 0)
      refuse("url: \"" + webhook::display_url(r.url) + "\" must start with http:// or https://");
    std::string method = ctx.get_or<std::string>("method", {});
    if (!method.empty()) r.method = method;
    if (auto bad = webhook::bad_method(r.method); !bad.empty()) refuse(bad);
    for (const auto &[key, value] : ctx.get_or<std::map<std::string, std::string>>("headers", {})) {
      if (auto bad = webhook::bad_header(key, value); !bad.empty()) refuse(bad);
      r.headers.emplace_back(key, value);
    }
    r.ca_bundle = ctx.get_or<std::string>("ca_bundle", {});
    if (!r.ca_bundle.empty())
      if (auto bad = webhook::check_ca_bundle(r.ca_bundle); !bad.empty()) refuse(bad);
    if (auto timeout = ctx.get<std::chrono::milliseconds>("timeout")) {
      if (timeout->count() <= 0) refuse("timeout must be positive (e.g. \"30s\")");
      r.timeout_ms = static_cast<long>(timeout->count());
    }
  }

  void deploy(certhook::Context &ctx, const certhook::Event &event) override {
    if (event.certificates.empty()) refuse("the deploy event carries no certificate");
    int worst = CERTHOOK_OK;
    std::string messages;
    for (const auto &c : event.certificates) {
      webhook::Notice notice;
      notice.certificate = c.name;
      notice.domains = c.domains;
      notice.fingerprint = c.fingerprint;
      notice.not_after = c.not_after;
      notice.reason = c.reason;
      notice.hook = event.hook;
      notice.attempt = event.attempt;
      webhook::Request request = request_;
      request.body = webhook::json_body(notice);
      if (!secret_.empty())
        request.headers.emplace_back("X-Certhook-Signature",
                                     "sha256=" + webhook::hmac_sha256_hex(secret_, request.body));
      auto r = webhook::send(request);
      if (r.status == CERTHOOK_OK) {
        ctx.info(notice.certificate + ": " + r.message);
        continue;
      }
      if (worst == CERTHOOK_OK || r.status == CERTHOOK_FAILED) worst = r.status;
      messages += (messages.empty() ? "" : "; ") + r.message;
    }
    certhook::throw_if_failed(static_cast<certhook_status>(worst), "webhook " + messages);
  }

  // Options were checked in the constructor. Reachability: connect (and verify TLS) but send no
  // request, since any request would notify the endpoint.
  void preflight(certhook::Context &, const certhook::Event &) override {
    auto r = webhook::probe(request_);
    certhook::throw_if_failed(static_cast<certhook_status>(r.status), "webhook " + r.message);
  }

 private:
  webhook::Request request_;  // body left empty
  std::string secret_;
};

const certhook_option_spec options[] = {
    certhook::option("url", CERTHOOK_OPTION_URL, "endpoint (http:// or https://)",
                     CERTHOOK_OPTION_REQUIRED),
    certhook::option("method", CERTHOOK_OPTION_STRING, "HTTP method", 0, "\"POST\""),
    certhook::option("headers", CERTHOOK_OPTION_TABLE, "extra request headers"),
    certhook::option("secret", CERTHOOK_OPTION_STRING,
                     "adds X-Certhook-Signature: sha256=<hex HMAC-SHA256 of the body>",
                     CERTHOOK_OPTION_SECRET),
    certhook::option("ca_bundle", CERTHOOK_OPTION_PATH,
                     "PEM file of CAs trusted in addition to the system's"),
    certhook::option("timeout", CERTHOOK_OPTION_DURATION, "limit for the whole request", 0,
                     "\"30s\""),
};

}  // namespace

CERTHOOK_PLUGIN(Webhook, "webhook", "1.0.0",
                "notifies an HTTP(S) endpoint of a deployed certificate (JSON, optional HMAC "
                "signature)",
                options)
