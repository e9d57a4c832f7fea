// The `haproxy` plugin (per certificate): hot-updates a certificate over HAProxy's runtime API.
// Written on the SDK's C++ wrapper, exactly as a third-party plugin is.
#include <certhook/plugin.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "hot_update.hpp"

namespace {

using certhook::haproxy::Settings;

certhook::haproxy::Logger logger(certhook::Context &ctx) {
  return [&ctx](int level, const std::string &m) {
    ctx.log(static_cast<certhook_log_level>(level), m);
  };
}

class Haproxy : public certhook::Plugin {
 public:
  explicit Haproxy(certhook::Context &ctx) {
    Settings &s = settings_;
    s.socket = ctx.get_or<std::string>("socket", {});
    s.cert_file = ctx.get_or<std::string>("cert_file", {});
    s.crt_list = ctx.get_or<std::string>("crt_list", {});
    if (s.socket.empty() || s.cert_file.empty())
      throw certhook::PermanentError(
          std::string("haproxy: option ") + (s.socket.empty() ? "socket" : "cert_file") +
          " is required (e.g. socket = \"/run/haproxy/admin.sock\", cert_file = "
          "\"/etc/haproxy/certs/{name}.pem\")");
    for (const auto *v : {&s.cert_file, &s.crt_list, &s.socket})
      if (v->find_first_of(" \t\r\n") != std::string::npos)
        throw certhook::PermanentError(
            "haproxy: \"" + *v + "\" contains whitespace, which the runtime API cannot address "
            "(socket, cert_file and crt_list are sent as command words)");
    s.write_file = ctx.get_or("write_file", s.write_file);
    s.reload_command = ctx.get_or<std::vector<std::string>>("reload_command", {});
    s.timeout = ctx.get_or("timeout", s.timeout);
    if (s.timeout.count() <= 0)
      throw certhook::PermanentError("haproxy: option timeout must be positive (e.g. \"10s\")");
  }

  void deploy(certhook::Context &ctx, const certhook::Event &event) override {
    if (event.certificates.empty())
      throw certhook::PermanentError("haproxy: the deploy event carries no certificate");
    std::string messages;
    int worst = CERTHOOK_OK;
    for (const auto &c : event.certificates) {
      certhook::haproxy::CertificateFiles files{c.name, c.cert_path.string(), c.key_path.string(),
                                                c.chain_path.string(), c.fullchain_path.string()};
      auto r = certhook::haproxy::hot_update(settings_, files, logger(ctx));
      if (r.status == CERTHOOK_OK) {
        ctx.info(r.message);
        continue;
      }
      if (worst == CERTHOOK_OK || r.status == CERTHOOK_FAILED) worst = r.status;
      messages += (messages.empty() ? "" : "; ") + r.message;
    }
    certhook::throw_if_failed(static_cast<certhook_status>(worst), messages);
  }

  void preflight(certhook::Context &ctx, const certhook::Event &event) override {
    std::vector<std::string> names;
    for (const auto &c : event.certificates) names.push_back(c.name);
    auto r = certhook::haproxy::check_ready(settings_, names, logger(ctx));
    certhook::throw_if_failed(static_cast<certhook_status>(r.status), r.message);
  }

 private:
  Settings settings_;
};

const certhook_option_spec options[] = {
    certhook::option("socket", CERTHOOK_OPTION_STRING,
                     "HAProxy stats socket at level admin: a Unix socket path or host:port",
                     CERTHOOK_OPTION_REQUIRED),
    certhook::option("cert_file", CERTHOOK_OPTION_STRING,
                     "crt path HAProxy knows (as `show ssl cert` lists it); {name} is the "
                     "certificate name",
                     CERTHOOK_OPTION_REQUIRED),
    certhook::option("crt_list", CERTHOOK_OPTION_STRING,
                     "crt-list a certificate HAProxy does not know yet is added to (runtime and "
                     "file)"),
    certhook::option("write_file", CERTHOOK_OPTION_BOOL,
                     "also write the combined PEM to cert_file, so that a later reload keeps it", 0,
                     "true"),
    certhook::option("reload_command", CERTHOOK_OPTION_STRING_LIST,
                     "argv run after writing the file when the runtime API cannot be reached"),
    certhook::option("timeout", CERTHOOK_OPTION_DURATION, "limit for each socket operation", 0,
                     "\"10s\""),
};

}  // namespace

CERTHOOK_PLUGIN(Haproxy, "haproxy", "1.0.0",
                "hot-updates a certificate over HAProxy's runtime API (no reload)", options)
