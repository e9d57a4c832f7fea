#include "process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

extern char **environ;

namespace certhook::plugins {
namespace {

constexpr std::size_t max_output = 64 * 1024;

bool is_executable_file(const std::string &path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

// Empty when not found.
std::string resolve(const std::string &name) {
  if (name.find('/') != std::string::npos) return name;
  std::string dirs;
  if (const char *path = std::getenv("PATH")) dirs = path;
  dirs += ":/usr/local/sbin:/usr/sbin:/sbin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    std::size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string dir = dirs.substr(start, end - start);
    if (!dir.empty()) {
      std::string candidate = dir + "/" + name;
      if (is_executable_file(candidate)) return candidate;
    }
    start = end + 1;
  }
  return {};
}

void append_bounded(std::string &out, const char *data, std::size_t n) {
  out.append(data, n);
  if (out.size() > 2 * max_output) out.erase(0, out.size() - max_output);
}

void drain(int fd, std::string &out) {
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) { append_bounded(out, buf, static_cast<std::size_t>(n)); continue; }
    if (n < 0 && errno == EINTR) continue;
    return;  // EOF, EAGAIN or error
  }
}

void record_status(CommandResult &r, int status) {
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  else if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
}

}  // namespace

CommandResult run_command(const std::vector<std::string> &argv,
                          const std::map<std::string, std::string> &extra_env) {
  CommandResult r;
  if (argv.empty() || argv[0].empty()) {
    r.error = "empty command";
    return r;
  }
  const std::string program = resolve(argv[0]);
  if (program.empty()) {
    r.error = "\"" + argv[0] + "\" not found in PATH or /usr/local/sbin, /usr/sbin, /sbin";
    return r;
  }

  // Everything the child needs is built before spawning.
  std::vector<char *> args;
  for (const auto &a : argv) args.push_back(const_cast<char *>(a.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> env_strings;
  for (char **e = environ; e && *e; ++e) {
    std::string entry = *e;
    auto eq = entry.find('=');
    if (eq != std::string::npos && extra_env.count(entry.substr(0, eq))) continue;
    env_strings.push_back(std::move(entry));
  }
  for (const auto &[k, v] : extra_env) env_strings.push_back(k + "=" + v);
  std::vector<char *> envp;
  for (auto &e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);

  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) {
    r.error = std::string("cannot create a pipe: ") + std::strerror(errno);
    return r;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, pipefd[1], 1);
  posix_spawn_file_actions_adddup2(&actions, pipefd[1], 2);
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGQUIT);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, program.c_str(), &actions, &attr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(pipefd[1]);
  if (rc != 0) {
    ::close(pipefd[0]);
    r.error = "cannot run " + program + ": " + std::strerror(rc);
    return r;
  }
  r.started = true;
  ::fcntl(pipefd[0], F_SETFL, ::fcntl(pipefd[0], F_GETFL) | O_NONBLOCK);

  // Read until the child exits (not until EOF: a daemon it starts may hold the pipe forever).
  // glibc 2.36's <sys/pidfd.h> lacks C linkage for C++; use the system call directly.
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  bool pipe_open = true;
  int status = 0;
  for (;;) {
    pollfd fds[2] = {{pipe_open ? pipefd[0] : -1, POLLIN, 0}, {pidfd, POLLIN, 0}};
    // Without a pidfd (old kernels) fall back to checking every 20 ms.
    int n = ::poll(fds, 2, pidfd >= 0 ? -1 : 20);
    if (n < 0 && errno != EINTR) break;
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      char buf[4096];
      ssize_t got = ::read(pipefd[0], buf, sizeof buf);
      if (got > 0) append_bounded(r.output, buf, static_cast<std::size_t>(got));
      else if (got == 0 || (errno != EAGAIN && errno != EINTR)) pipe_open = false;
    }
    pid_t w = ::waitpid(pid, &status, WNOHANG);
    if (w == pid) break;
    if (w < 0 && errno != EINTR) { status = 0; break; }
  }
  drain(pipefd[0], r.output);
  ::close(pipefd[0]);
  if (pidfd >= 0) ::close(pidfd);
  record_status(r, status);
  if (r.output.size() > max_output) r.output.erase(0, r.output.size() - max_output);
  return r;
}

std::string command_text(const std::vector<std::string> &argv) {
  std::string out;
  for (const auto &a : argv) {
    if (!out.empty()) out += ' ';
    bool quote = a.empty() || a.find_first_of(" \t\"'") != std::string::npos;
    out += quote ? "\"" + a + "\"" : a;
  }
  return out;
}

std::string one_line(const std::string &output, std::size_t max_chars) {
  std::string out;
  std::size_t start = 0;
  while (start < output.size()) {
    std::size_t end = output.find('\n', start);
    if (end == std::string::npos) end = output.size();
    std::string line = output.substr(start, end - start);
    auto first = line.find_first_not_of(" \t\r");
    auto last = line.find_last_not_of(" \t\r");
    if (first != std::string::npos) {
      if (!out.empty()) out += " | ";
      out += line.substr(first, last - first + 1);
    }
    start = end + 1;
  }
  if (out.size() > max_chars) out = "..." + out.substr(out.size() - max_chars);
  return out;
}

std::string describe_outcome(const CommandResult &r) {
  if (!r.started) return r.error;
  if (r.signal) return "was killed by signal " + std::to_string(r.signal) + " (" + ::strsignal(r.signal) + ")";
  return "exited with status " + std::to_string(r.exit_code);
}

}  // namespace certhook::plugins
