#include "exec/process.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>


#include <cerrno>
#include <cstring>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_set>

namespace certhook::exec {
namespace {

using Clock = std::chrono::steady_clock;

// Direct children that a run_process call is waiting for: reap_orphans must leave them alone.
std::mutex managed_mutex;
std::unordered_set<pid_t> managed;

struct Fd {
  int fd = -1;
  Fd() = default;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd &) = delete;
  Fd &operator=(const Fd &) = delete;
  ~Fd() { reset(); }
  void reset() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

struct ProcInfo {
  pid_t pid, ppid, pgrp;
};

bool read_proc_stat(pid_t pid, ProcInfo &out) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", pid);
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[512];
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return false;
  buf[n] = '\0';
  // The command name may contain spaces and parentheses: fields resume after the last ')'.
  const char *p = std::strrchr(buf, ')');
  if (!p) return false;
  char state;
  int ppid, pgrp;
  if (std::sscanf(p + 1, " %c %d %d", &state, &ppid, &pgrp) != 3) return false;
  out = {pid, ppid, pgrp};
  return true;
}

bool environ_has_marker(pid_t pid, std::string_view prefix) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/environ", pid);
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  std::string env;
  char buf[8192];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) env.append(buf, static_cast<size_t>(n));
  ::close(fd);
  std::string needle = std::string(marker_variable) + "=";
  needle += prefix;
  for (size_t pos = 0; pos < env.size();) {
    size_t end = env.find('\0', pos);
    if (end == std::string::npos) end = env.size();
    if (std::string_view(env).substr(pos, end - pos).starts_with(needle)) return true;
    pos = end + 1;
  }
  return false;
}

std::vector<ProcInfo> all_processes() {
  std::vector<ProcInfo> out;
  DIR *d = ::opendir("/proc");
  if (!d) return out;
  while (dirent *e = ::readdir(d)) {
    char *end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (pid <= 0 || *end) continue;
    ProcInfo info;
    if (read_proc_stat(static_cast<pid_t>(pid), info)) out.push_back(info);
  }
  ::closedir(d);
  return out;
}

// Everything a hook started: its process group, its descendants, and marked processes.
std::set<pid_t> hook_tree(pid_t root, std::string_view marker) {
  auto procs = all_processes();
  std::set<pid_t> found;
  const pid_t self = ::getpid();
  for (const auto &p : procs) {
    if (p.pid == self) continue;
    if (p.pgrp == root || p.pid == root || (!marker.empty() && environ_has_marker(p.pid, marker)))
      found.insert(p.pid);
  }
  // Close over descendants (children of anything found), whatever their group or session.
  for (bool grew = true; grew;) {
    grew = false;
    for (const auto &p : procs)
      if (p.pid != self && !found.count(p.pid) && found.count(p.ppid)) grew = found.insert(p.pid).second;
  }
  return found;
}

void signal_tree(pid_t root, std::string_view marker, int sig) {
  ::kill(-root, sig);
  for (pid_t p : hook_tree(root, marker)) ::kill(p, sig);
}

bool tree_alive(pid_t root, std::string_view marker, bool root_reaped) {
  if (!root_reaped && ::kill(root, 0) == 0) return true;
  for (pid_t p : hook_tree(root, marker)) {
    if (p == root && root_reaped) continue;
    // A zombie already re-parented to us counts as gone.
    char path[64];
    std::snprintf(path, sizeof path, "/proc/%d/stat", p);
    std::string stat;
    int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    char buf[512];
    ssize_t n = ::read(fd, buf, sizeof buf - 1);
    ::close(fd);
    if (n <= 0) continue;
    buf[n] = '\0';
    const char *q = std::strrchr(buf, ')');
    if (q && q[1] == ' ' && q[2] == 'Z') continue;
    return true;
  }
  return false;
}

class OutputSink {
 public:
  explicit OutputSink(const ProcessSpec &spec, ProcessResult &result) : spec_(spec), result_(result) {}
  void feed(const char *data, size_t n) {
    result_.output_bytes += n;
    size_t room = spec_.output_limit > result_.output.size() ? spec_.output_limit - result_.output.size() : 0;
    result_.output.append(data, std::min(room, n));
    if (!spec_.on_line) return;
    for (size_t i = 0; i < n; ++i) {
      if (data[i] == '\n') {
        flush_line();
      } else if (line_.size() < 4096) {
        line_ += data[i];
      }
    }
  }
  void finish() {
    if (!line_.empty()) flush_line();
  }

 private:
  void flush_line() {
    if (!line_.empty() && line_.back() == '\r') line_.pop_back();
    spec_.on_line(line_);
    line_.clear();
  }
  const ProcessSpec &spec_;
  ProcessResult &result_;
  std::string line_;
};

// Reads what the pipe holds now; returns false at EOF.
bool drain(int fd, OutputSink &sink) {
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      sink.feed(buf, static_cast<size_t>(n));
      continue;
    }
    if (n == 0) return false;
    if (errno == EINTR) continue;
    return errno == EAGAIN || errno == EWOULDBLOCK;
  }
}

std::string signal_name(int sig) {
  const char *abbrev = ::sigabbrev_np(sig);
  return abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

}  // namespace

std::string ProcessResult::describe() const {
  switch (outcome) {
    case Outcome::exited: return "exited with status " + std::to_string(exit_code);
    case Outcome::signaled: return "killed by " + signal_name(signal);
    case Outcome::timed_out:
      return "timed out after " + format_duration(std::chrono::duration_cast<Duration>(elapsed)) +
             "; its processes were killed";
    case Outcome::spawn_failed: return error;
  }
  return error;
}

std::filesystem::path resolve_program(const std::string &program, std::string_view path_value) {
  if (program.find('/') != std::string::npos) return program;
  while (!path_value.empty()) {
    size_t colon = path_value.find(':');
    std::string_view dir = path_value.substr(0, colon);
    path_value = colon == std::string_view::npos ? std::string_view{} : path_value.substr(colon + 1);
    if (dir.empty()) dir = ".";
    std::filesystem::path candidate = std::filesystem::path(dir) / program;
    if (::access(candidate.c_str(), X_OK) == 0 && std::filesystem::is_regular_file(candidate))
      return candidate;
  }
  return program;
}

void become_subreaper() { ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); }

void reap_orphans() {
  for (;;) {
    siginfo_t info{};
    if (::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) != 0 || info.si_pid == 0) return;
    {
      std::lock_guard lock(managed_mutex);
      if (managed.count(info.si_pid)) return;  // its run_process call reaps it
    }
    ::waitpid(info.si_pid, nullptr, WNOHANG);
  }
}

int stop_marked_processes(std::string_view marker_prefix, Duration grace) {
  const pid_t self = ::getpid();
  auto scan = [&] {
    std::vector<pid_t> found;
    for (const auto &p : all_processes())
      if (p.pid != self && environ_has_marker(p.pid, marker_prefix)) found.push_back(p.pid);
    return found;
  };
  std::set<pid_t> signalled;
  // Rescanning each round also catches children forked (or exec'd) after the previous scan.
  auto deadline = Clock::now() + grace;
  for (auto found = scan(); !found.empty(); found = scan()) {
    for (pid_t p : found)
      if (signalled.insert(p).second) ::kill(p, SIGTERM);
    if (Clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    reap_orphans();
  }
  for (int round = 0; round < 10; ++round) {
    auto found = scan();
    if (found.empty()) break;
    for (pid_t p : found) {
      signalled.insert(p);
      ::kill(p, SIGKILL);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    reap_orphans();
  }
  reap_orphans();
  return static_cast<int>(signalled.size());
}

ProcessResult run_process(const ProcessSpec &spec) {
  ProcessResult result;
  const auto start = Clock::now();
  if (spec.argv.empty()) {
    result.error = "empty command";
    return result;
  }
  std::vector<std::string> env = spec.env;
  std::string_view path_value = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  for (const auto &kv : env)
    if (kv.starts_with("PATH=")) path_value = std::string_view(kv).substr(5);
  if (!spec.marker.empty()) env.push_back(std::string(marker_variable) + "=" + spec.marker);
  const std::filesystem::path program = resolve_program(spec.argv[0], path_value);

  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    result.error = "cannot create a pipe: " + std::string(std::strerror(errno));
    return result;
  }
  Fd read_end(pipe_fds[0]), write_end(pipe_fds[1]);

  // posix_spawn (clone with CLONE_VM|CLONE_VFORK) rather than fork: the cost of starting a hook
  // must not grow with certhook's own memory (fork copies the page tables of every mapping and
  // makes the parent fault on each page it writes afterwards). The child gets: stdin /dev/null,
  // stdout and stderr the pipe, no other descriptor, its own process group, an empty signal
  // mask and SIGPIPE at its default.
  pid_t pid = -1;
  {
    std::vector<std::string> args = spec.argv;
    args[0] = program.string();
    std::vector<char *> argv, envp;
    for (auto &a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto &e : env) envp.push_back(e.data());
    envp.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    if (spec.stdin_fd >= 0) posix_spawn_file_actions_adddup2(&actions, spec.stdin_fd, STDIN_FILENO);
    else posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, write_end.fd, STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, write_end.fd, STDERR_FILENO);
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    if (!spec.cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions, spec.cwd.c_str());
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

    std::lock_guard lock(managed_mutex);  // registered before any reaper can see it exit
    int err = ::posix_spawn(&pid, program.c_str(), &actions, &attr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (err != 0) {
      result.error = "cannot run " + program.string() + ": " + std::strerror(err) +
                     (spec.cwd.empty() ? "" : " (in " + spec.cwd.string() + ")");
      return result;
    }
    managed.insert(pid);
  }
  write_end.reset();
  ::fcntl(read_end.fd, F_SETFL, ::fcntl(read_end.fd, F_GETFL) | O_NONBLOCK);
  Fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));

  OutputSink sink(spec, result);
  int status = 0;
  bool exited = false, timed_out = false, pipe_open = true;
  auto deadline = start + spec.timeout;
  Clock::time_point kill_deadline{};

  auto try_reap = [&] {
    if (exited) return;
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) exited = true;
  };

  for (;;) {
    try_reap();
    if (exited && !timed_out) break;
    if (timed_out && Clock::now() >= kill_deadline) break;
    if (timed_out && exited && !tree_alive(pid, spec.marker, true)) break;
    if (!timed_out && Clock::now() >= deadline) {
      timed_out = true;
      signal_tree(pid, spec.marker, SIGTERM);
      kill_deadline = Clock::now() + spec.kill_grace;
      continue;
    }
    auto until = timed_out ? kill_deadline : deadline;
    auto wait_ms = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
    if (timed_out || pidfd.fd < 0) wait_ms = std::min<long long>(wait_ms, 20);  // polling fallbacks
    pollfd fds[2];
    nfds_t n = 0;
    if (pipe_open) fds[n++] = {read_end.fd, POLLIN, 0};
    if (pidfd.fd >= 0 && !exited) fds[n++] = {pidfd.fd, POLLIN, 0};
    int ready = ::poll(fds, n, static_cast<int>(std::max<long long>(wait_ms, 0)));
    if (ready < 0 && errno != EINTR) break;
    if (pipe_open && ready > 0 && (fds[0].revents & (POLLIN | POLLHUP | POLLERR)))
      pipe_open = drain(read_end.fd, sink);
  }
  if (timed_out) {
    signal_tree(pid, spec.marker, SIGKILL);
    if (!exited) {
      ::waitpid(pid, &status, 0);
      exited = true;
    }
  }
  // Whatever is already in the pipe; a descendant still holding it cannot make us wait.
  if (pipe_open) drain(read_end.fd, sink);
  sink.finish();
  {
    std::lock_guard lock(managed_mutex);
    managed.erase(pid);
  }
  reap_orphans();

  result.elapsed = std::chrono::duration_cast<Duration>(Clock::now() - start);
  if (timed_out) {
    result.outcome = ProcessResult::Outcome::timed_out;
    result.elapsed = spec.timeout;
  } else if (WIFEXITED(status)) {
    result.outcome = ProcessResult::Outcome::exited;
    result.exit_code = WEXITSTATUS(status);
  } else {
    result.outcome = ProcessResult::Outcome::signaled;
    result.signal = WTERMSIG(status);
  }
  return result;
}

}  // namespace certhook::exec
