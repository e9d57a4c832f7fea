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
#include <certhook/plugin.hpp>

#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "certificate_list.hpp"
#include "server_tool.hpp"

namespace {

using certhook::plugins::CommandResult;
using certhook::plugins::ServerTool;
using Clock = std::chrono::steady_clock;

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

// ---- the plugin ---------------------------------------------------------------------------

class Apache : public certhook::Plugin {
 public:
  explicit Apache(certhook::Context &ctx)
      : apache_(ctx,
                {"apache", "apachectl", {"-k", "graceful"}, "apachectl's or apache2's", "apache2",
                 "Apache was not restarted"},
                without_empty_key(ctx.get_or<std::map<std::string, std::string>>("env", {}))),
        pid_file_(ctx.get_or<std::string>("pid_file", {})),
        error_log_(ctx.get_or<std::string>("error_log", {})),
        settle_(ctx.get_or("settle", std::chrono::milliseconds(3000))) {
    if (settle_.count() < 0)
      throw certhook::PermanentError("apache: option settle must not be negative");
  }

  void preflight(certhook::Context &ctx, const certhook::Event &) override { apache_.preflight(ctx); }

  void deploy(certhook::Context &ctx, const certhook::Event &event) override {
    if (event.dry_run) return preflight(ctx, event);
    apache_.test_config();
    std::string pid_file = pid_file_, error_log = error_log_;
    locate_runtime_files(pid_file, error_log);

    pid_t pid = read_pid(pid_file);
    if (!alive(pid))
      throw std::runtime_error(
          "apache: not running: PidFile " + pid_file +
          (pid ? " names PID " + std::to_string(pid) + ", which is not alive"
               : " is missing or empty") +
          "; start Apache (its service) first: a graceful restart would start it outside its "
          "service manager");
    const std::uintmax_t log_offset = file_size(error_log);

    auto argv = apache_.reload_argv();
    CommandResult r = apache_.run(argv);
    if (!r.ok()) apache_.fail("graceful restart failed", argv, r, "see Apache's error log");

    // Watch the parent: the log shows the restart completing, or the parent exits, or settle ends.
    const auto deadline = Clock::now() + settle_;
    auto interval = std::chrono::milliseconds(5);
    for (;;) {
      const std::string log = log_since(error_log, log_offset);
      if (!alive(pid)) {
        // A restart by reload_command (e.g. systemctl restart) may have started a new parent.
        pid_t now = read_pid(pid_file);
        if (now != pid && alive(now)) {
          pid = now;
          continue;
        }
        std::string why = relevant_lines(log);
        throw std::runtime_error(
            "apache: the server exited during the graceful restart (PID " + std::to_string(pid) +
            " from " + pid_file + " is gone)" +
            (why.empty() ? "; see its error log" +
                               (error_log.empty() ? std::string() : " " + error_log)
                         : ": " + why) +
            "; fix the certificate or configuration and start Apache again");
      }
      if (restart_completed(log) || Clock::now() >= deadline) break;
      std::this_thread::sleep_for(interval);
      interval = std::min(interval * 2, std::chrono::milliseconds(100));
    }
    std::string msg = "apache: graceful restart for " + certhook::plugins::certificate_list(event) + " (PID " +
                      std::to_string(pid) + " still serving)";
    ctx.info(msg);
    ctx.set_message(msg);
  }

 private:
  static std::map<std::string, std::string> without_empty_key(std::map<std::string, std::string> env) {
    env.erase("");
    return env;
  }

  // Fills whichever of pid_file and error_log is empty from DUMP_RUN_CFG.
  void locate_runtime_files(std::string &pid_file, std::string &error_log) const {
    if (!pid_file.empty() && !error_log.empty()) return;
    auto argv = apache_.command({"-t", "-D", "DUMP_RUN_CFG"});
    CommandResult r = apache_.run(argv);
    if (!r.ok())
      apache_.fail("cannot read Apache's run-time configuration", argv, r,
                   "Apache was not restarted");
    if (pid_file.empty()) pid_file = dump_value(r.output, "PidFile");
    if (error_log.empty()) {
      std::string log = dump_value(r.output, "Main ErrorLog");
      if (!log.empty() && log.front() == '/') error_log = log;  // not syslog: or a |pipe
    }
    if (pid_file.empty())
      throw certhook::PermanentError("apache: `" + certhook::plugins::command_text(argv) +
                                     "` names no PidFile; set the hook's pid_file option");
  }

  ServerTool apache_;
  std::string pid_file_, error_log_;  // empty: from DUMP_RUN_CFG
  std::chrono::milliseconds settle_;
};

const certhook_option_spec options[] = {
    certhook::option("binary", CERTHOOK_OPTION_STRING,
                     "apachectl or the httpd/apache2 binary: a name looked up in PATH (then "
                     "/usr/sbin, /sbin) or an absolute path",
                     0, "\"apachectl\""),
    certhook::option("args", CERTHOOK_OPTION_STRING_LIST,
                     "arguments placed before -t and -k graceful, e.g. [\"-f\", "
                     "\"/srv/apache/httpd.conf\"]",
                     0, "[]"),
    certhook::option("env", CERTHOOK_OPTION_TABLE,
                     "extra environment for every command, e.g. { APACHE_RUN_DIR = "
                     "\"/run/apache2\" }"),
    certhook::option("test_config", CERTHOOK_OPTION_BOOL,
                     "run `apachectl -t` first and do not restart when it fails", 0, "true"),
    certhook::option("reload_command", CERTHOOK_OPTION_STRING_LIST,
                     "argv replacing `apachectl ARGS -k graceful`, e.g. [\"systemctl\", "
                     "\"reload\", \"apache2\"]"),
    certhook::option("pid_file", CERTHOOK_OPTION_PATH,
                     "Apache's PidFile; default: read from `apachectl ARGS -t -D DUMP_RUN_CFG`"),
    certhook::option("error_log", CERTHOOK_OPTION_PATH,
                     "Apache's main ErrorLog, read for the reason of a failed restart; default: "
                     "from DUMP_RUN_CFG"),
    certhook::option("settle", CERTHOOK_OPTION_DURATION,
                     "how long to watch Apache after the graceful restart when its error log does "
                     "not show it completing sooner",
                     0, "\"3s\""),
};

}  // namespace

CERTHOOK_BATCHING_PLUGIN(Apache, "apache", "0.1.0",
                         "tests Apache's configuration, restarts it gracefully once for all "
                         "certificates and checks that it survived",
                         options)
