// The nginx hook type (DESIGN §8), batching: one configuration test and one reload per run,
// however many certificates changed.
//   deploy    = `BINARY ARGS -t` (unless test_config = false), then `BINARY ARGS -s reload` or
//               reload_command. A failed test fails the hook with nginx's own message and nothing
//               is reloaded: the running nginx keeps serving its current certificates.
//   preflight = the configuration test only.
// nginx is never run through a shell; see plugins/common/process.hpp.
#include <certhook/plugin.hpp>

#include <string>

#include "certificate_list.hpp"
#include "server_tool.hpp"

namespace {

using certhook::plugins::ServerTool;

class Nginx : public certhook::Plugin {
 public:
  explicit Nginx(certhook::Context &ctx)
      : nginx_(ctx, {"nginx", "nginx", {"-s", "reload"}, "nginx's", "nginx",
                     "nginx was not reloaded"}) {}

  void preflight(certhook::Context &ctx, const certhook::Event &) override { nginx_.preflight(ctx); }

  void deploy(certhook::Context &ctx, const certhook::Event &event) override {
    if (event.dry_run) return preflight(ctx, event);
    nginx_.test_config();
    auto argv = nginx_.reload_argv();
    auto r = nginx_.run(argv);
    if (!r.ok())
      nginx_.fail("reload failed", argv, r,
                  "the running nginx (if any) keeps serving its current certificates");
    std::string msg = "nginx: reloaded for " + certhook::plugins::certificate_list(event);
    ctx.info(msg);
    ctx.set_message(msg);
  }

 private:
  ServerTool nginx_;
};

const certhook_option_spec options[] = {
    certhook::option("binary", CERTHOOK_OPTION_STRING,
                     "the nginx executable: a name looked up in PATH (then /usr/sbin, /sbin) or an "
                     "absolute path",
                     0, "\"nginx\""),
    certhook::option("args", CERTHOOK_OPTION_STRING_LIST,
                     "arguments placed before -t and -s reload, e.g. [\"-p\", \"/srv/nginx/\", "
                     "\"-c\", \"/srv/nginx/nginx.conf\"]",
                     0, "[]"),
    certhook::option("test_config", CERTHOOK_OPTION_BOOL,
                     "run `nginx -t` first and do not reload when it fails", 0, "true"),
    certhook::option("reload_command", CERTHOOK_OPTION_STRING_LIST,
                     "argv replacing `nginx ARGS -s reload`, e.g. [\"systemctl\", \"reload\", "
                     "\"nginx\"]"),
};

}  // namespace

CERTHOOK_BATCHING_PLUGIN(Nginx, "nginx", "0.1.0",
                         "tests nginx's configuration, then reloads it once for all certificates",
                         options)
