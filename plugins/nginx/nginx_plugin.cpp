// The nginx hook type (DESIGN §8), batching: one configuration test and one reload per run,
// however many certificates changed.
//   deploy    = `BINARY ARGS -t` (unless test_config = false), then `BINARY ARGS -s reload` or
//               reload_command. A failed test fails the hook with nginx's own message and nothing
//               is reloaded: the running nginx keeps serving its current certificates.
//   preflight = the configuration test only.
// nginx is never run through a shell; see plugins/common/process.hpp.
#include <certhook/plugin.hpp>

#include <initializer_list>
#include <stdexcept>
#include <string>
#include <vector>

#include "certificate_list.hpp"
#include "process.hpp"

namespace {

using certhook::plugins::CommandResult;
using certhook::plugins::certificate_list;
using certhook::plugins::command_text;
using certhook::plugins::describe_outcome;
using certhook::plugins::one_line;
using certhook::plugins::run_command;
using List = std::vector<std::string>;

// A command that cannot start will not start on a retry either: permanent. Anything else that
// failed (non-zero exit, signal) is worth retrying.
[[noreturn]] void fail(const std::string &what, const List &argv, const CommandResult &r,
                       const std::string &consequence) {
  std::string out = one_line(r.output);
  std::string msg = "nginx: " + what + ": `" + command_text(argv) + "` " + describe_outcome(r);
  if (!out.empty()) msg += ": " + out;
  if (!r.started) msg += "; set the hook's `binary` option to nginx's path";
  if (!r.started) throw certhook::PermanentError(msg + "; " + consequence);
  throw std::runtime_error(msg + "; " + consequence);
}

class Nginx : public certhook::Plugin {
 public:
  explicit Nginx(certhook::Context &ctx)
      : binary_(ctx.get_or<std::string>("binary", "nginx")),
        args_(ctx.get_or<List>("args", {})),
        test_config_(ctx.get_or("test_config", true)) {
    if (binary_.empty())
      throw certhook::PermanentError(
          "nginx: option binary is empty; remove it (default \"nginx\") or give a path");
    if (auto reload = ctx.get<List>("reload_command")) {
      if (reload->empty() || reload->front().empty())
        throw certhook::PermanentError(
            "nginx: option reload_command is empty; remove it (default `nginx ARGS -s "
            "reload`) or give an argv such as [\"systemctl\", \"reload\", \"nginx\"]");
      reload_command_ = std::move(*reload);
    }
  }

  void preflight(certhook::Context &ctx, const certhook::Event &) override {
    test_config();
    ctx.set_message(test_config_ ? "nginx: configuration test passed"
                                 : "nginx: test_config is off; nothing to check");
  }

  void deploy(certhook::Context &ctx, const certhook::Event &event) override {
    if (event.dry_run) return preflight(ctx, event);
    test_config();
    auto argv = reload_command_.empty() ? command({"-s", "reload"}) : reload_command_;
    CommandResult r = run_command(argv);
    if (!r.ok())
      fail("reload failed", argv, r,
           "the running nginx (if any) keeps serving its current certificates");
    std::string msg = "nginx: reloaded for " + certificate_list(event);
    ctx.info(msg);
    ctx.set_message(msg);
  }

 private:
  List command(std::initializer_list<const char *> tail) const {
    List argv{binary_};
    argv.insert(argv.end(), args_.begin(), args_.end());
    for (const char *t : tail) argv.emplace_back(t);
    return argv;
  }

  // The configuration test (unless switched off); throws when it fails.
  void test_config() const {
    if (!test_config_) return;
    auto argv = command({"-t"});
    CommandResult r = run_command(argv);
    if (!r.ok())
      fail("configuration test failed", argv, r,
           "nginx was not reloaded and keeps serving its current certificates; "
           "fix the configuration and deploy again");
  }

  std::string binary_;
  List args_;
  bool test_config_;
  List reload_command_;  // empty: BINARY ARGS -s reload
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
