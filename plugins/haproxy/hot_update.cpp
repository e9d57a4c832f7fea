#include "hot_update.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <sstream>
#include <thread>

#include "cli_socket.hpp"
#include "files.hpp"

namespace certhook::haproxy {
namespace {

constexpr int kOk = 0, kFailed = 1, kPermanent = 2;
constexpr int kDebug = 0, kInfo = 1, kWarn = 2;
constexpr int kLockedRetries = 40;                       // "currently locked" → retry, bounded
constexpr std::chrono::milliseconds kLockedPause{100};   // ≈4 s in all

bool contains(const std::string &s, const std::string &part) {
  return s.find(part) != std::string::npos;
}

// A reply on one line for messages.
std::string one_line(const std::string &reply) {
  std::string out;
  for (char c : reply) {
    if (c == '\n') {
      if (!out.empty() && out.back() != ' ') out += " / ";
    } else if (c != '\r') {
      out += c;
    }
  }
  while (!out.empty() && (out.back() == ' ' || out.back() == '/')) out.pop_back();
  return out.empty() ? "(empty reply)" : out;
}

std::string quoted(const std::vector<std::string> &argv) {
  std::string s;
  for (const auto &a : argv) s += (s.empty() ? "" : " ") + a;
  return s;
}

bool permission_denied(const std::string &reply) { return contains(reply, "Permission denied"); }

std::string admin_hint(const std::string &socket) {
  return "the stats socket needs `level admin` (`stats socket " + socket +
         " mode 600 level admin` in haproxy.cfg's global section)";
}

std::string unreachable_hint(const std::string &socket) {
  return "; check that HAProxy runs with `stats socket " + socket +
         " mode 600 level admin` in its global section";
}

struct CertList {
  bool ok = false;                    // the reply had the expected shape
  std::vector<std::string> transaction, files;
};

// `show ssl cert`: "# transaction\n*NAME\n# filename\nNAME\n..."
CertList parse_show_ssl_cert(const std::string &reply) {
  CertList out;
  std::istringstream in(reply);
  std::string line;
  std::vector<std::string> *section = nullptr;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    if (line == "# transaction") {
      section = &out.transaction;
      out.ok = true;
    } else if (line == "# filename") {
      section = &out.files;
      out.ok = true;
    } else if (section) {
      section->push_back(!line.empty() && line[0] == '*' ? line.substr(1) : line);
    }
  }
  return out;
}

// First words of the non-comment lines of `show ssl crt-list [FILE]`.
std::vector<std::string> first_words(const std::string &reply) {
  std::vector<std::string> out;
  std::istringstream in(reply);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream words(line);
    std::string w;
    if (words >> w) out.push_back(w);
  }
  return out;
}

bool listed(const std::vector<std::string> &v, const std::string &x) {
  for (const auto &e : v)
    if (e == x) return true;
  return false;
}

// Runs argv (never a shell) with stdin on /dev/null and only descriptors 0-2; waits for it.
Outcome run_reload_command(const std::vector<std::string> &argv) {
  std::vector<char *> args;
  for (const auto &a : argv) args.push_back(const_cast<char *>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) return {kFailed, std::string("reload_command: fork failed: ") + std::strerror(errno)};
  if (pid == 0) {
    int null = ::open("/dev/null", O_RDONLY);
    if (null >= 0) ::dup2(null, 0);
    ::close_range(3, ~0u, 0);
    ::execvp(args[0], args.data());
    std::fprintf(stderr, "reload_command: cannot run %s: %s\n", args[0], std::strerror(errno));
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR)
      return {kFailed, std::string("reload_command: waitpid failed: ") + std::strerror(errno)};
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {kOk, {}};
  std::string how = WIFEXITED(status) ? "exited with status " + std::to_string(WEXITSTATUS(status))
                                      : "was killed by signal " + std::to_string(WTERMSIG(status));
  return {kFailed, "reload_command `" + quoted(argv) + "` " + how};
}

class Session {
 public:
  Session(const Settings &s, const Logger &log) : s_(s), log_(log), cli_(s.socket, s.timeout) {}

  // One command; "currently locked" replies are retried a bounded number of times.
  std::string run(const std::string &command, const std::string &payload = {}) {
    std::string reply;
    for (int i = 0; i < kLockedRetries; ++i) {
      reply = cli_.run(command, payload);
      if (!contains(reply, "Operations on certificates are currently locked")) return reply;
      if (i == 0)
        log_(kDebug, s_.socket + ": certificate operations locked; retrying `" +
                         command.substr(0, command.find(" <<")) + "`");
      std::this_thread::sleep_for(kLockedPause);
    }
    return reply;
  }

  // Best effort: used on the way out of a failure.
  std::string abort(const std::string &name) {
    try {
      return run("abort ssl cert " + name);
    } catch (const std::exception &e) {
      return e.what();
    }
  }

 private:
  const Settings &s_;
  const Logger &log_;
  CliSocket cli_;
};

Outcome fallback(const Settings &s, const std::string &name, const std::string &pem,
                 const Unreachable &why, std::optional<StagedFile> &staged, const Logger &log) {
  if (s.reload_command.empty())
    return {kFailed, why.what() + unreachable_hint(s.socket) +
                         " (reload_command adds a fallback for when it is down)"};
  log(kWarn, std::string(why.what()) + "; runtime API unusable, falling back to reload_command");
  // HAProxy cannot vet the pair first on this path, and a bad file would break every reload.
  if (auto bad = key_mismatch(pem); !bad.empty())
    return {kPermanent, name + ": " + bad + "; nothing written, reload_command not run"};
  if (staged) staged->commit();
  else log(kWarn, name + ": write_file is false, so the reload cannot pick up the new certificate");
  Outcome r = run_reload_command(s.reload_command);
  if (r.status != kOk) return r;
  return {kOk, name + ": runtime API unreachable; wrote the file and ran reload_command"};
}

Outcome update(const Settings &s, const std::string &name, const std::string &pem,
               std::optional<StagedFile> &staged, const Logger &log) {
  Session api(s, log);
  const std::string where = s.socket + ": ";
  std::string reply;
  try {
    reply = api.run("show ssl cert");
  } catch (const Unreachable &e) {
    return fallback(s, name, pem, e, staged, log);
  }
  if (permission_denied(reply))
    return {kPermanent, where + "`show ssl cert` refused (" + one_line(reply) + "); " + admin_hint(s.socket)};
  CertList state = parse_show_ssl_cert(reply);
  if (!state.ok)
    return {kFailed, where + "unexpected reply to `show ssl cert`: " + one_line(reply) +
                         " (is this HAProxy's stats socket?)"};
  for (const auto &open : state.transaction) {
    if (open != name)
      return {kFailed, where + "a certificate transaction for '" + open +
                           "' is open and was not started by this hook; HAProxy 2.6 has one global "
                           "transaction, so finish it first (`commit ssl cert " + open +
                           "` or `abort ssl cert " + open + "`), then retry"};
    log(kWarn, where + "aborting a stale transaction for " + name + " left by an earlier attempt");
    reply = api.run("abort ssl cert " + name);
    if (!contains(reply, "Transaction aborted"))
      return {kFailed, where + "`abort ssl cert " + name + "` (stale transaction): " + one_line(reply)};
  }

  const std::string set_cmd = "set ssl cert " + name + " <<";
  const std::string payload = pem + "\n";   // the empty line ends the payload
  bool created = false;
  reply = api.run(set_cmd, payload);
  if (contains(reply, "not referenced by the configuration")) {
    if (s.crt_list.empty())
      return {kPermanent, where + name + " is not a certificate HAProxy knows (" + one_line(reply) +
                              "); set crt_list to add it as a new certificate, or set cert_file to "
                              "a crt path listed by `show ssl cert`"};
    reply = api.run("new ssl cert " + name);
    if (contains(reply, "New empty certificate store")) {
      created = true;
    } else if (!contains(reply, "already exists")) {
      return {permission_denied(reply) ? kPermanent : kFailed,
              where + "`new ssl cert " + name + "`: HAProxy replied: " + one_line(reply) +
                  (permission_denied(reply) ? "; " + admin_hint(s.socket) : "")};
    }
    reply = api.run(set_cmd, payload);
  }
  auto undo_new = [&] {   // best effort: drop the empty store `new ssl cert` made
    if (!created) return;
    try {
      api.run("del ssl cert " + name);
    } catch (const std::exception &) {
    }
  };
  const std::string created_prefix = "Transaction created for certificate " + name + "!";
  const std::string updated_prefix = "Transaction updated for certificate ";
  if (contains(reply, updated_prefix) && !contains(reply, updated_prefix + name + "!")) {
    // Someone opened a transaction between our check and `set`: our PEM went into theirs.
    std::string other = reply.substr(reply.find(updated_prefix) + updated_prefix.size());
    other = other.substr(0, other.find('!'));
    api.abort(other);
    undo_new();
    return {kFailed, where + "a transaction for '" + other +
                         "' was opened by someone else while deploying; aborted it so that this "
                         "certificate is not committed under that name; retry"};
  }
  if (!contains(reply, created_prefix) && !contains(reply, updated_prefix + name + "!")) {
    api.abort(name);
    undo_new();
    bool denied = permission_denied(reply);
    return {kPermanent, where + "`set ssl cert " + name + "`: HAProxy replied: " + one_line(reply) +
                            (denied ? "; " + admin_hint(s.socket) : "; nothing changed")};
  }

  reply = api.run("commit ssl cert " + name);
  if (!contains(reply, "Success!")) {
    std::string aborted = api.abort(name);
    undo_new();
    return {kPermanent, where + "`commit ssl cert " + name + "`: HAProxy replied: " + one_line(reply) +
                            "; " + (contains(aborted, "aborted") ? "transaction aborted, " : "abort: " + one_line(aborted) + ", ") +
                            "HAProxy keeps serving the previous certificate and the file is unchanged"};
  }
  log(kInfo, where + "committed " + name);

  if (staged) {
    try {
      staged->commit();
    } catch (const FileError &e) {
      return {kFailed, std::string(e.what()) +
                           "; HAProxy serves the new certificate, but a reload would bring back the old file"};
    }
  }

  if (!s.crt_list.empty()) {
    bool needs_list = created;
    if (!needs_list) {
      reply = api.run("show ssl cert " + name);
      needs_list = contains(reply, "Status: Unused");
    }
    if (needs_list) {
      reply = api.run("show ssl crt-list " + s.crt_list);
      if (!listed(first_words(reply), name)) {
        reply = api.run("add ssl crt-list " + s.crt_list + " " + name);
        if (!contains(reply, "Success!"))
          return {kPermanent, where + "`add ssl crt-list " + s.crt_list + " " + name +
                                  "`: HAProxy replied: " + one_line(reply) +
                                  "; the certificate is loaded but not served"};
        log(kInfo, where + "added " + name + " to crt-list " + s.crt_list);
      }
      if (s.write_file) {
        try {
          if (add_crt_list_line(s.crt_list, name))
            log(kInfo, s.crt_list + ": added " + name + " so that a reload keeps serving it");
        } catch (const FileError &e) {
          return {kFailed, std::string(e.what()) +
                               "; HAProxy serves the certificate, but a reload would drop it"};
        }
      }
    }
  }
  return {kOk, where + name + " updated in place (no reload)"};
}

}  // namespace

std::string expand_cert_file(const std::string &pattern, const std::string &cert_name) {
  std::string out = pattern;
  for (auto at = out.find("{name}"); at != std::string::npos; at = out.find("{name}", at + cert_name.size()))
    out.replace(at, 6, cert_name);
  return out;
}

Outcome hot_update(const Settings &s, const CertificateFiles &cert, const Logger &log) {
  const std::string name = expand_cert_file(s.cert_file, cert.name);
  if (s.write_file && (name.empty() || name[0] != '/'))
    return {kPermanent, "cert_file: \"" + name + "\" is not an absolute path; write_file needs the "
                        "absolute crt path HAProxy knows (as `show ssl cert` lists it)"};
  if (name.find_first_of(" \t\r\n") != std::string::npos)
    return {kPermanent, "cert_file: \"" + name + "\" contains whitespace, which the runtime API cannot address"};
  try {
    const std::string pem = combined_pem(cert.fullchain_path, cert.cert_path, cert.chain_path, cert.key_path);
    TransactionLock lock(lock_path_for(s.socket), s.lock_wait_ms);
    std::optional<StagedFile> staged;
    if (s.write_file) staged.emplace(name, pem);
    return update(s, name, pem, staged, log);
  } catch (const FileError &e) {
    return {kFailed, cert.name + ": " + e.what()};
  } catch (const Unreachable &e) {
    return {kFailed, std::string(e.what()) + " (the connection dropped during the update; HAProxy "
                                             "keeps the previous certificate unless the commit went through)"};
  } catch (const ExchangeError &e) {
    return {kFailed, e.what()};
  }
}

Outcome check_ready(const Settings &s, const std::vector<std::string> &cert_names, const Logger &log) {
  const std::string where = s.socket + ": ";
  try {
    CliSocket cli(s.socket, s.timeout);
    std::string reply;
    try {
      reply = cli.run("show ssl cert");
    } catch (const Unreachable &e) {
      if (s.reload_command.empty())
        return {kFailed, e.what() + unreachable_hint(s.socket)};
      log(kWarn, std::string(e.what()) + "; a deploy would fall back to reload_command `" +
                     quoted(s.reload_command) + "`");
      return {kOk, {}};
    }
    if (permission_denied(reply))
      return {kPermanent, where + "`show ssl cert` refused; " + admin_hint(s.socket)};
    CertList state = parse_show_ssl_cert(reply);
    if (!state.ok)
      return {kFailed, where + "unexpected reply to `show ssl cert`: " + one_line(reply) +
                           " (is this HAProxy's stats socket?)"};
    // An admin-only command that changes nothing: an operator-level socket says "Permission denied".
    std::string lists = cli.run("show ssl crt-list");
    if (permission_denied(lists))
      return {kPermanent, where + "the socket is not at level admin (`show ssl crt-list`: " +
                              one_line(lists) + "); " + admin_hint(s.socket)};
    if (!s.crt_list.empty() && !listed(first_words(lists), s.crt_list))
      return {kPermanent, "crt_list: \"" + s.crt_list + "\" is not a crt-list HAProxy knows (`show ssl "
                          "crt-list` lists: " + one_line(lists) + ")"};
    for (const auto &open : state.transaction)
      log(kWarn, where + "a certificate transaction for '" + open + "' is open; a deploy refuses "
                         "to start while it stays open");
    for (const auto &cert_name : cert_names) {
      const std::string name = expand_cert_file(s.cert_file, cert_name);
      if (!listed(state.files, name) && s.crt_list.empty())
        return {kPermanent, "cert_file: " + name + " is not a certificate HAProxy knows (`show ssl "
                            "cert` does not list it); set crt_list to add it, or fix cert_file"};
      if (s.write_file) {
        if (name.empty() || name[0] != '/')
          return {kPermanent, "cert_file: \"" + name + "\" is not an absolute path; write_file needs "
                              "the absolute crt path HAProxy knows"};
        std::string dir = name.substr(0, name.rfind('/'));
        if (dir.empty()) dir = "/";
        if (::access(dir.c_str(), W_OK) != 0)
          return {kPermanent, "cert_file: cannot write to " + dir + ": " + std::strerror(errno) +
                              " (write_file = true needs it; set write_file = false to update "
                              "memory only)"};
      }
    }
  } catch (const std::runtime_error &e) {
    return {kFailed, e.what()};
  }
  return {kOk, {}};
}

}  // namespace certhook::haproxy
