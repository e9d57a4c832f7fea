// The apache hook type (DESIGN §8), batching: one configuration test and one graceful restart per
// run, however many certificates changed, then a check that Apache survived it.
//   deploy    = `BINARY ARGS -t` (unless test_config = false), then `BINARY ARGS -k graceful` or
//               reload_command, then watch the parent process for up to `settle`.
//   preflight = the configuration test only.
// Why the watch: `apache2 -t` does not load certificates, so a key that does not match its
// certificate passes the test, and the parent then exits during the graceful restart ("AH02565:
// Certificate and private key ... do not match", "AH00020: Configuration Failed, exiting").
// The parent's PID comes from the PidFile (option pid_file, else Apache's own
// `-t -D DUMP_RUN_CFG` output, which also names the main ErrorLog). The watch ends as soon as the
// error log shows "resuming normal operations" after the restart; otherwise after `settle`.
#include <certhook/plugin.h>

#include <signal.h>
#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <exception>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
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
using Clock = std::chrono::steady_clock;

const certhook_host_api *host = nullptr;

const certhook_option_spec option_specs[] = {
    {"binary", CERTHOOK_OPTION_STRING, 0, "\"apachectl\"",
     "apachectl or the httpd/apache2 binary: a name looked up in PATH (then /usr/sbin, /sbin) "
     "or an absolute path"},
    {"args", CERTHOOK_OPTION_STRING_LIST, 0, "[]",
     "arguments placed before -t and -k graceful, e.g. [\"-f\", \"/srv/apache/httpd.conf\"]"},
    {"env", CERTHOOK_OPTION_TABLE, 0, nullptr,
     "extra environment for every command, e.g. { APACHE_RUN_DIR = \"/run/apache2\" }"},
    {"test_config", CERTHOOK_OPTION_BOOL, 0, "true",
     "run `apachectl -t` first and do not restart when it fails"},
    {"reload_command", CERTHOOK_OPTION_STRING_LIST, 0, nullptr,
     "argv replacing `apachectl ARGS -k graceful`, e.g. [\"systemctl\", \"reload\", \"apache2\"]"},
    {"pid_file", CERTHOOK_OPTION_PATH, 0, nullptr,
     "Apache's PidFile; default: read from `apachectl ARGS -t -D DUMP_RUN_CFG`"},
    {"error_log", CERTHOOK_OPTION_PATH, 0, nullptr,
     "Apache's main ErrorLog, read for the reason of a failed restart; default: from DUMP_RUN_CFG"},
    {"settle", CERTHOOK_OPTION_DURATION, 0, "\"3s\"",
     "how long to watch Apache after the graceful restart when its error log does not show it "
     "completing sooner"},
};

struct Apache {
  std::string binary = "apachectl";
  std::vector<std::string> args;
  std::map<std::string, std::string> env;
  bool test_config = true;
  std::vector<std::string> reload_command;  // empty: BINARY ARGS -k graceful
  std::string pid_file, error_log;          // empty: from DUMP_RUN_CFG
  std::chrono::milliseconds settle{3000};

  std::vector<std::string> command(std::initializer_list<const char *> tail) const {
    std::vector<std::string> argv{binary};
    argv.insert(argv.end(), args.begin(), args.end());
    for (const char *t : tail) argv.emplace_back(t);
    return argv;
  }
};

// A deploy step that failed: its status and message.
struct Failure {
  certhook_status status;
  std::string message;
};

certhook_status finish(certhook_context *ctx, certhook_status status, const std::string &message) {
  host->set_message(ctx, message.c_str());
  return status;
}

Failure command_failure(const std::string &what, const std::vector<std::string> &argv,
                        const CommandResult &r, const std::string &consequence) {
  std::string out = one_line(r.output);
  std::string msg = "apache: " + what + ": `" + command_text(argv) + "` " + describe_outcome(r);
  if (!out.empty()) msg += ": " + out;
  if (!r.started) msg += "; set the hook's `binary` option to apachectl's or apache2's path";
  // A command that cannot start will not start on a retry either.
  return {r.started ? CERTHOOK_FAILED : CERTHOOK_PERMANENT, msg + "; " + consequence};
}

// ---- the parent process -------------------------------------------------------------------

// Alive and not a zombie (a dead daemon can linger unreaped for a moment; kill(0) still works).
bool alive(pid_t pid) {
  if (pid <= 0) return false;
  if (::kill(pid, 0) != 0 && errno != EPERM) return false;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return true;  // no /proc: trust kill()
  auto close = line.rfind(')');
  if (close == std::string::npos || close + 2 >= line.size()) return true;
  char state = line[close + 2];
  return state != 'Z' && state != 'X';
}

pid_t read_pid(const std::string &path) {
  std::ifstream in(path);
  long pid = 0;
  if (!(in >> pid) || pid <= 0) return 0;
  return static_cast<pid_t>(pid);
}

// `PidFile: "/run/apache2/apache2.pid"` -> the quoted value of `key` in DUMP_RUN_CFG output.
std::string dump_value(const std::string &dump, const std::string &key) {
  std::istringstream in(dump);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ": ", 0) != 0) continue;
    std::string value = line.substr(key.size() + 2);
    if (value.size() >= 2 && value.front() == '"') value = value.substr(1, value.find('"', 1) - 1);
    return value;
  }
  return {};
}

// ---- the error log ------------------------------------------------------------------------

std::uintmax_t file_size(const std::string &path) {
  struct stat st {};
  if (path.empty() || ::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return 0;
  return static_cast<std::uintmax_t>(st.st_size);
}

// What the log gained since `offset` (all of it when the log was rotated and shrank).
std::string log_since(const std::string &path, std::uintmax_t offset) {
  if (path.empty()) return {};
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  if (file_size(path) >= offset) in.seekg(static_cast<std::streamoff>(offset));
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// "[time] [ssl:emerg] [pid 1:tid 1] AH02565: Certificate ... do not match" -> the text after the
// bracketed prefix, for lines at level emerg, alert or crit (error when there are none).
std::string relevant_lines(const std::string &log) {
  std::vector<std::string> severe, errors;
  std::istringstream in(log);
  std::string line;
  while (std::getline(in, line)) {
    bool is_severe = line.find(":emerg]") != std::string::npos ||
                     line.find(":alert]") != std::string::npos ||
                     line.find(":crit]") != std::string::npos;
    bool is_error = line.find(":error]") != std::string::npos;
    if (!is_severe && !is_error) continue;
    std::size_t pos = 0;
    while (pos < line.size() && line[pos] == '[') {
      auto close = line.find("] ", pos);
      if (close == std::string::npos) break;
      pos = close + 2;
    }
    (is_severe ? severe : errors).push_back(line.substr(pos));
  }
  auto &chosen = severe.empty() ? errors : severe;
  std::string out;
  std::size_t first = chosen.size() > 3 ? chosen.size() - 3 : 0;
  for (std::size_t i = first; i < chosen.size(); ++i) out += (out.empty() ? "" : " | ") + chosen[i];
  return out;
}

bool restart_completed(const std::string &log) {
  // AH00493 "SIGUSR1 received.  Doing graceful restart" (or AH00494 for SIGHUP), then
  // AH00489 "... configured -- resuming normal operations".
  auto signalled = log.find("Doing graceful restart");
  if (signalled == std::string::npos) signalled = log.find("Attempting to restart");
  if (signalled == std::string::npos) signalled = 0;
  return log.find("resuming normal operations", signalled) != std::string::npos;
}

// ---- the steps ----------------------------------------------------------------------------

bool test_config(const Apache &a, Failure *failure) {
  if (!a.test_config) return true;
  auto argv = a.command({"-t"});
  CommandResult r = run_command(argv, a.env);
  if (r.ok()) return true;
  *failure = command_failure("configuration test failed", argv, r,
                             "Apache was not restarted and keeps serving its current "
                             "certificates; fix the configuration and deploy again");
  return false;
}

// Fills pid_file and error_log from the options or DUMP_RUN_CFG.
bool locate_runtime_files(Apache &a, Failure *failure) {
  if (!a.pid_file.empty() && !a.error_log.empty()) return true;
  auto argv = a.command({"-t", "-D", "DUMP_RUN_CFG"});
  CommandResult r = run_command(argv, a.env);
  if (!r.ok()) {
    *failure = command_failure("cannot read Apache's run-time configuration", argv, r,
                               "Apache was not restarted");
    return false;
  }
  if (a.pid_file.empty()) a.pid_file = dump_value(r.output, "PidFile");
  if (a.error_log.empty()) {
    std::string log = dump_value(r.output, "Main ErrorLog");
    if (!log.empty() && log.front() == '/') a.error_log = log;  // not syslog: or a |pipe
  }
  if (a.pid_file.empty()) {
    *failure = {CERTHOOK_PERMANENT, "apache: `" + command_text(argv) +
                                        "` names no PidFile; set the hook's pid_file option"};
    return false;
  }
  return true;
}

certhook_status deploy(Apache a, certhook_context *ctx, const certhook_deploy_event *event) {
  Failure f{CERTHOOK_OK, {}};
  if (!test_config(a, &f) || !locate_runtime_files(a, &f)) return finish(ctx, f.status, f.message);

  pid_t pid = read_pid(a.pid_file);
  if (!alive(pid))
    return finish(ctx, CERTHOOK_FAILED,
                  "apache: not running: PidFile " + a.pid_file +
                      (pid ? " names PID " + std::to_string(pid) + ", which is not alive"
                           : " is missing or empty") +
                      "; start Apache (its service) first: a graceful restart would start it "
                      "outside its service manager");
  const std::uintmax_t log_offset = file_size(a.error_log);

  auto argv = a.reload_command.empty() ? a.command({"-k", "graceful"}) : a.reload_command;
  CommandResult r = run_command(argv, a.env);
  if (!r.ok()) {
    f = command_failure("graceful restart failed", argv, r, "see Apache's error log");
    return finish(ctx, f.status, f.message);
  }

  // Watch the parent: the log shows the restart completing, or the parent exits, or settle ends.
  const auto deadline = Clock::now() + a.settle;
  auto interval = std::chrono::milliseconds(5);
  for (;;) {
    const std::string log = log_since(a.error_log, log_offset);
    if (!alive(pid)) {
      // A restart by reload_command (e.g. systemctl restart) may have started a new parent.
      pid_t now = read_pid(a.pid_file);
      if (now != pid && alive(now)) {
        pid = now;
        continue;
      }
      std::string why = relevant_lines(log);
      return finish(ctx, CERTHOOK_FAILED,
                    "apache: the server exited during the graceful restart (PID " +
                        std::to_string(pid) + " from " + a.pid_file + " is gone)" +
                        (why.empty() ? "; see its error log" +
                                           (a.error_log.empty() ? std::string()
                                                                : " " + a.error_log)
                                     : ": " + why) +
                        "; fix the certificate or configuration and start Apache again");
    }
    if (restart_completed(log) || Clock::now() >= deadline) break;
    std::this_thread::sleep_for(interval);
    interval = std::min(interval * 2, std::chrono::milliseconds(100));
  }
  std::string msg = "apache: graceful restart for " + certificate_list(event) + " (PID " +
                    std::to_string(pid) + " still serving)";
  host->log(ctx, CERTHOOK_LOG_INFO, msg.c_str());
  return finish(ctx, CERTHOOK_OK, msg);
}

certhook_status apache_create(certhook_context *ctx, void **instance) {
  return guarded(host, ctx, "apache", "create", [&] {
    auto a = std::make_unique<Apache>();
    const char *s = nullptr;
    if (host->option_string(ctx, "binary", &s)) a->binary = s;
    if (a->binary.empty())
      return finish(ctx, CERTHOOK_PERMANENT,
                    "apache: option binary is empty; remove it (default \"apachectl\") or give a "
                    "path");
    read_list(host, ctx, "args", a->args);
    size_t n = 0;
    if (host->option_table_size(ctx, "env", &n))
      for (size_t i = 0; i < n; ++i) {
        const char *k = host->option_table_key(ctx, "env", i);
        const char *v = host->option_table_value(ctx, "env", i);
        if (k && *k) a->env[k] = v ? v : "";
      }
    int b = 1;
    if (host->option_bool(ctx, "test_config", &b)) a->test_config = b != 0;
    if (read_list(host, ctx, "reload_command", a->reload_command) &&
        (a->reload_command.empty() || a->reload_command[0].empty()))
      return finish(ctx, CERTHOOK_PERMANENT,
                    "apache: option reload_command is empty; remove it (default `apachectl ARGS "
                    "-k graceful`) or give an argv such as [\"systemctl\", \"reload\", "
                    "\"apache2\"]");
    if (host->option_string(ctx, "pid_file", &s)) a->pid_file = s;
    if (host->option_string(ctx, "error_log", &s)) a->error_log = s;
    int64_t ms = 0;
    if (host->option_duration_ms(ctx, "settle", &ms)) {
      if (ms < 0)
        return finish(ctx, CERTHOOK_PERMANENT, "apache: option settle must not be negative");
      a->settle = std::chrono::milliseconds(ms);
    }
    *instance = a.release();
    return CERTHOOK_OK;
  });
}

certhook_status apache_preflight(void *instance, certhook_context *ctx,
                                 const certhook_deploy_event *) {
  return guarded(host, ctx, "apache", "preflight", [&] {
    const Apache &a = *static_cast<Apache *>(instance);
    Failure f{CERTHOOK_OK, {}};
    if (!test_config(a, &f)) return finish(ctx, f.status, f.message);
    return finish(ctx, CERTHOOK_OK,
                  a.test_config ? "apache: configuration test passed"
                                : "apache: test_config is off; nothing to check");
  });
}

certhook_status apache_deploy(void *instance, certhook_context *ctx,
                              const certhook_deploy_event *event) {
  if (event && event->dry_run) return apache_preflight(instance, ctx, event);
  return guarded(host, ctx, "apache", "deploy",
                 [&] { return deploy(*static_cast<Apache *>(instance), ctx, event); });
}

void apache_destroy(void *instance) { delete static_cast<Apache *>(instance); }

const certhook_plugin descriptor = {
    sizeof(certhook_plugin),
    CERTHOOK_ABI_MAJOR,
    CERTHOOK_ABI_MINOR,
    "apache",
    "0.1.0",
    "tests Apache's configuration, restarts it gracefully once for all certificates and checks "
    "that it survived",
    CERTHOOK_PLUGIN_BATCHING,
    option_specs,
    sizeof option_specs / sizeof option_specs[0],
    apache_create,
    apache_deploy,
    apache_preflight,
    nullptr,
    apache_destroy,
};

}  // namespace

extern "C" CERTHOOK_PLUGIN_EXPORT const certhook_plugin *certhook_plugin_entry(
    const certhook_host_api *api) {
  if (!api || api->size < sizeof(certhook_host_api) || api->abi_major != CERTHOOK_ABI_MAJOR)
    return nullptr;
  host = api;
  return &descriptor;
}
