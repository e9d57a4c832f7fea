// Helpers for driving the built `certhook` binary end to end against a real Pebble: running it
// (to completion, or in the background to kill it), small loopback servers standing in for a web
// server or a dead ACME server, and independent OpenSSL checks of what ended up in live/.
#pragma once
#include "testcerts.hpp"
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace certhook::test {

struct CertHookRun {
  int exit_code = -1;   // -1 when a signal ended it
  int signal = 0;
  std::string out, err;
};

// A certhook process started in the background; stdout/stderr go to files in `log_dir`.
class CertHookProcess {
 public:
  CertHookProcess(const std::vector<std::string> &args, const std::filesystem::path &log_dir);
  ~CertHookProcess();   // SIGKILLs and reaps it if still running
  CertHookProcess(const CertHookProcess &) = delete;
  CertHookProcess &operator=(const CertHookProcess &) = delete;

  pid_t pid() const { return pid_; }
  bool running();                                    // reaps it when it has exited
  void kill9();                                      // SIGKILL and reap
  // Waits up to `timeout` (then SIGKILL) and returns the outcome.
  CertHookRun wait(std::chrono::seconds timeout = std::chrono::seconds(120));

 private:
  void collect(int status);
  pid_t pid_ = -1;
  std::filesystem::path out_, err_;
  CertHookRun result_;
};

// Runs `certhook ARGS...` to completion.
CertHookRun run_certhook(const std::vector<std::string> &args, const std::filesystem::path &log_dir);

// An HTTP/1.1 server on 127.0.0.1:port serving files under `root` (what nginx is for webroot
// mode). One connection at a time, each answered and closed. When held, a request that arrives
// is counted in arrivals() and answered only after release().
class StaticServer {
 public:
  StaticServer(std::uint16_t port, std::filesystem::path root);
  ~StaticServer();
  StaticServer(const StaticServer &) = delete;
  StaticServer &operator=(const StaticServer &) = delete;

  int served() const { return served_; }     // requests answered 200
  int arrivals() const { return arrivals_; } // requests received
  void hold();
  void release();

 private:
  void serve();
  void answer(int fd);
  std::filesystem::path root_;
  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::atomic<int> served_{0}, arrivals_{0};
  std::mutex mutex_;
  std::condition_variable cv_;
  bool held_ = false;
  std::thread thread_;
};

// Accepts TCP connections on 127.0.0.1 (a free port) and closes them at once, counting them:
// an "ACME server" that is up but broken, to see whether certhook contacted it at all.
class ConnectionCounter {
 public:
  ConnectionCounter();
  ~ConnectionCounter();
  ConnectionCounter(const ConnectionCounter &) = delete;
  ConnectionCounter &operator=(const ConnectionCounter &) = delete;
  std::uint16_t port() const { return port_; }
  int connections() const { return count_; }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> count_{0};
  std::thread thread_;
};

// File mode bits (07777) without following a final symlink when `follow` is false.
unsigned mode_of(const std::filesystem::path &p, bool follow = true);

// Lines of a text file (empty when it does not exist).
std::vector<std::string> read_lines(const std::filesystem::path &p);

}  // namespace certhook::test
