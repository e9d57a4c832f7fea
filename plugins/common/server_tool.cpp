#include "server_tool.hpp"

#include <stdexcept>
#include <utility>

namespace certhook::plugins {

ServerTool::ServerTool(const Context &ctx, ServerNames names, std::map<std::string, std::string> env)
    : names_(std::move(names)),
      env_(std::move(env)),
      binary_(ctx.get_or<std::string>("binary", names_.default_binary)),
      args_(ctx.get_or<Argv>("args", {})),
      test_config_(ctx.get_or("test_config", true)) {
  const std::string label = names_.label;
  if (binary_.empty())
    throw PermanentError(label + ": option binary is empty; remove it (default \"" +
                         names_.default_binary + "\") or give a path");
  if (auto reload = ctx.get<Argv>("reload_command")) {
    if (reload->empty() || reload->front().empty()) {
      std::string fallback = names_.default_binary + std::string(" ARGS");
      for (const auto &word : names_.reload_tail) fallback += " " + word;
      throw PermanentError(label + ": option reload_command is empty; remove it (default `" +
                           fallback + "`) or give an argv such as [\"systemctl\", \"reload\", \"" +
                           names_.service + "\"]");
    }
    reload_command_ = std::move(*reload);
  }
}

Argv ServerTool::command(std::initializer_list<const char *> tail) const {
  Argv argv{binary_};
  argv.insert(argv.end(), args_.begin(), args_.end());
  for (const char *t : tail) argv.emplace_back(t);
  return argv;
}

Argv ServerTool::reload_argv() const {
  if (!reload_command_.empty()) return reload_command_;
  Argv argv = command({});
  argv.insert(argv.end(), names_.reload_tail.begin(), names_.reload_tail.end());
  return argv;
}

void ServerTool::fail(const std::string &what, const Argv &argv, const CommandResult &r,
                      const std::string &consequence) const {
  std::string out = one_line(r.output);
  std::string msg = std::string(names_.label) + ": " + what + ": `" + command_text(argv) + "` " +
                    describe_outcome(r);
  if (!out.empty()) msg += ": " + out;
  if (!r.started) msg += std::string("; set the hook's `binary` option to ") + names_.binary_hint + " path";
  msg += "; " + consequence;
  if (!r.started) throw PermanentError(msg);
  throw std::runtime_error(msg);
}

void ServerTool::test_config() const {
  if (!test_config_) return;
  auto argv = command({"-t"});
  CommandResult r = run(argv);
  if (!r.ok())
    fail("configuration test failed", argv, r,
         std::string(names_.not_reloaded) +
             " and keeps serving its current certificates; fix the configuration and deploy again");
}

void ServerTool::preflight(const Context &ctx) const {
  test_config();
  ctx.set_message(std::string(names_.label) + (test_config_ ? ": configuration test passed"
                                                            : ": test_config is off; nothing to check"));
}

}  // namespace certhook::plugins
