// The nginx hook type (DESIGN §8), batching: one configuration test and one reload per run,
// however many certificates changed.
//   deploy    = `BINARY ARGS -t` (unless test_config = false), then `BINARY ARGS -s reload` or
//               reload_command. A failed test fails the hook with nginx's own message and nothing
//               is reloaded: the running nginx keeps serving its current certificates.
//   preflight = the configuration test only.
// nginx is never run through a shell; see plugins/common/process.hpp.
#include <certhook/plugin.h>

#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "plugin_util.hpp"
#include "process.hpp"

namespace {

using certhook::plugins::CommandResult;
using certhook::plugins::certificate_list;
using certhook::plugins::guarded;
using certhook::plugins::read_list;
using certhook::plugins::command_text;
using certhook::plugins::describe_outcome;
using certhook::plugins::one_line;
using certhook::plugins::run_command;

const certhook_host_api *host = nullptr;

const certhook_option_spec option_specs[] = {
    {"binary", CERTHOOK_OPTION_STRING, 0, "\"nginx\"",
     "the nginx executable: a name looked up in PATH (then /usr/sbin, /sbin) or an absolute path"},
    {"args", CERTHOOK_OPTION_STRING_LIST, 0, "[]",
     "arguments placed before -t and -s reload, e.g. [\"-p\", \"/srv/nginx/\", \"-c\", "
     "\"/srv/nginx/nginx.conf\"]"},
    {"test_config", CERTHOOK_OPTION_BOOL, 0, "true",
     "run `nginx -t` first and do not reload when it fails"},
    {"reload_command", CERTHOOK_OPTION_STRING_LIST, 0, nullptr,
     "argv replacing `nginx ARGS -s reload`, e.g. [\"systemctl\", \"reload\", \"nginx\"]"},
};

struct Nginx {
  std::string binary = "nginx";
  std::vector<std::string> args;
  bool test_config = true;
  std::vector<std::string> reload_command;  // empty: BINARY ARGS -s reload

  std::vector<std::string> command(std::initializer_list<const char *> tail) const {
    std::vector<std::string> argv{binary};
    argv.insert(argv.end(), args.begin(), args.end());
    for (const char *t : tail) argv.emplace_back(t);
    return argv;
  }
};

certhook_status finish(certhook_context *ctx, certhook_status status, const std::string &message) {
  host->set_message(ctx, message.c_str());
  return status;
}

// A command that cannot start will not start on a retry either: permanent. Anything else that
// failed (non-zero exit, signal) is worth retrying.
certhook_status status_of(const CommandResult &r) {
  return r.started ? CERTHOOK_FAILED : CERTHOOK_PERMANENT;
}

std::string failure(const std::string &what, const std::vector<std::string> &argv,
                    const CommandResult &r, const std::string &consequence) {
  std::string out = one_line(r.output);
  std::string msg = "nginx: " + what + ": `" + command_text(argv) + "` " + describe_outcome(r);
  if (!out.empty()) msg += ": " + out;
  if (!r.started) msg += "; set the hook's `binary` option to nginx's path";
  return msg + "; " + consequence;
}

// The configuration test; true when it passed (or is switched off).
bool test_config(const Nginx &n, certhook_context *ctx, certhook_status *status) {
  if (!n.test_config) return true;
  auto argv = n.command({"-t"});
  CommandResult r = run_command(argv);
  if (r.ok()) return true;
  *status = finish(ctx, status_of(r),
                   failure("configuration test failed", argv, r,
                           "nginx was not reloaded and keeps serving its current certificates; "
                           "fix the configuration and deploy again"));
  return false;
}

certhook_status nginx_create(certhook_context *ctx, void **instance) {
  return guarded(host, ctx, "nginx", "create", [&] {
    auto n = std::make_unique<Nginx>();
    const char *s = nullptr;
    if (host->option_string(ctx, "binary", &s)) n->binary = s;
    if (n->binary.empty())
      return finish(ctx, CERTHOOK_PERMANENT,
                    "nginx: option binary is empty; remove it (default \"nginx\") or give a path");
    read_list(host, ctx, "args", n->args);
    int b = 1;
    if (host->option_bool(ctx, "test_config", &b)) n->test_config = b != 0;
    if (read_list(host, ctx, "reload_command", n->reload_command) &&
        (n->reload_command.empty() || n->reload_command[0].empty()))
      return finish(ctx, CERTHOOK_PERMANENT,
                    "nginx: option reload_command is empty; remove it (default `nginx ARGS -s "
                    "reload`) or give an argv such as [\"systemctl\", \"reload\", \"nginx\"]");
    *instance = n.release();
    return CERTHOOK_OK;
  });
}

certhook_status nginx_preflight(void *instance, certhook_context *ctx,
                                const certhook_deploy_event *) {
  return guarded(host, ctx, "nginx", "preflight", [&] {
    const Nginx &n = *static_cast<Nginx *>(instance);
    certhook_status status = CERTHOOK_OK;
    if (!test_config(n, ctx, &status)) return status;
    return finish(ctx, CERTHOOK_OK,
                  n.test_config ? "nginx: configuration test passed"
                                : "nginx: test_config is off; nothing to check");
  });
}

certhook_status nginx_deploy(void *instance, certhook_context *ctx,
                             const certhook_deploy_event *event) {
  if (event && event->dry_run) return nginx_preflight(instance, ctx, event);
  return guarded(host, ctx, "nginx", "deploy", [&] {
    const Nginx &n = *static_cast<Nginx *>(instance);
    certhook_status status = CERTHOOK_OK;
    if (!test_config(n, ctx, &status)) return status;
    auto argv = n.reload_command.empty() ? n.command({"-s", "reload"}) : n.reload_command;
    CommandResult r = run_command(argv);
    if (!r.ok())
      return finish(ctx, status_of(r),
                    failure("reload failed", argv, r,
                            "the running nginx (if any) keeps serving its current certificates"));
    std::string msg = "nginx: reloaded for " + certificate_list(event);
    host->log(ctx, CERTHOOK_LOG_INFO, msg.c_str());
    return finish(ctx, CERTHOOK_OK, msg);
  });
}

void nginx_destroy(void *instance) { delete static_cast<Nginx *>(instance); }

const certhook_plugin descriptor = {
    sizeof(certhook_plugin),
    CERTHOOK_ABI_MAJOR,
    CERTHOOK_ABI_MINOR,
    "nginx",
    "0.1.0",
    "tests nginx's configuration, then reloads it once for all certificates",
    CERTHOOK_PLUGIN_BATCHING,
    option_specs,
    sizeof option_specs / sizeof option_specs[0],
    nginx_create,
    nginx_deploy,
    nginx_preflight,
    nullptr,
    nginx_destroy,
};

}  // namespace

extern "C" CERTHOOK_PLUGIN_EXPORT const certhook_plugin *certhook_plugin_entry(
    const certhook_host_api *api) {
  if (!api || api->size < sizeof(certhook_host_api) || api->abi_major != CERTHOOK_ABI_MAJOR)
    return nullptr;
  host = api;
  return &descriptor;
}
