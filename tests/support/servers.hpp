// Real TLS servers for tests: private nginx, Apache and HAProxy instances on 127.0.0.1.
// Each writes a self-contained configuration into its own short temp dir (pid file, logs, temp
// paths, sockets all inside it), runs in the foreground as a child of the test (so the test reaps
// exactly its own process; it gets SIGTERM should the test die — or the thread that created it
// end, so create servers on the test's own thread), serves one or more TLS sites
// on a free port (one server block / virtual host / crt-list line per SNI name; the first site is
// the default), and waits until it accepts connections. The destructor stops exactly its own PID:
// the stop signal, up to 5 s, then SIGKILL (and SIGKILL to any child it left behind).
#pragma once
#include "net.hpp"
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "tempdir.hpp"

namespace certhook::test {

struct TlsSite {
  std::string server_name;          // SNI name; also the answer body
  std::filesystem::path cert;       // nginx, Apache: certificate (or full chain) PEM.
                                    // HAProxy: chain and private key in one PEM.
  std::filesystem::path key;        // nginx, Apache: private key PEM. HAProxy: unused.
};


// True when a TCP connection to 127.0.0.1:port succeeds.
bool accepts_connections(std::uint16_t port);

// Alive and not a zombie.
bool process_alive(pid_t pid);

// Sends `text` to a Unix stream socket, half-closes, and reads until the peer closes
// (HAProxy's runtime API: one command per connection). Throws when it cannot connect.
std::string unix_socket_exchange(const std::filesystem::path &socket, const std::string &text);

class ServerProcess {
 public:
  virtual ~ServerProcess();
  ServerProcess(const ServerProcess &) = delete;
  ServerProcess &operator=(const ServerProcess &) = delete;

  pid_t pid() const { return pid_; }               // the master / parent process
  std::uint16_t port() const { return port_; }
  std::string connect() const { return "127.0.0.1:" + std::to_string(port_); }
  const std::filesystem::path &dir() const { return dir_.path(); }
  const std::filesystem::path &config_path() const { return config_; }
  const std::filesystem::path &error_log() const { return error_log_; }
  const std::filesystem::path &output_log() const { return output_log_; }  // its stdout+stderr
  const std::string &binary() const { return binary_; }                   // absolute path
  // What a plugin's `args` option needs so that `binary args -t` etc. address this instance.
  const std::vector<std::string> &args() const { return args_; }
  const std::vector<TlsSite> &sites() const { return sites_; }

  // Whether the process is still running (reaps it when it has exited).
  bool running();
  // PIDs whose parent is pid() (workers / children).
  std::vector<pid_t> child_pids() const;
  // Reloads the server has performed so far, as its logs tell (see each class).
  virtual int reload_count() const = 0;
  // Rewrites the configuration as generated (after a test broke it on purpose).
  void restore_config() const { write_config(); }
  // Stops the server now (idempotent); the destructor calls it.
  void stop();

 protected:
  ServerProcess(const std::string &kind, std::vector<TlsSite> sites, int stop_signal);
  virtual void write_config() const = 0;
  virtual std::vector<std::string> command() const = 0;
  // Extra readiness condition beyond accepting connections (e.g. the pid file is written).
  virtual bool ready() const { return true; }
  // Picks a port, writes the config, starts, waits; retries when the port was taken meanwhile.
  void launch();
  int count_lines(const std::filesystem::path &file, const std::string &needle) const;

  TempDir dir_;
  std::vector<TlsSite> sites_;
  std::filesystem::path config_, error_log_, output_log_;
  std::string binary_;
  std::vector<std::string> args_;
  std::uint16_t port_ = 0;

 private:
  bool start_once(std::string *why);
  std::string kind_;
  int stop_signal_;
  pid_t pid_ = -1;
  bool reaped_ = true;
};

// nginx: `nginx -p DIR/ -c DIR/nginx.conf -e DIR/logs/error.log` with `daemon off;`.
// reload_count(): "signal 1 (SIGHUP) received" lines in the error log (one per reload).
class NginxServer : public ServerProcess {
 public:
  explicit NginxServer(std::vector<TlsSite> sites);
  std::filesystem::path pid_file() const { return dir() / "nginx.pid"; }
  int reload_count() const override;

 protected:
  void write_config() const override;
  std::vector<std::string> command() const override;
  bool ready() const override;
};

// Apache: `/usr/sbin/apache2 -f DIR/apache2.conf -D FOREGROUND`, modules loaded by absolute path,
// PidFile, ErrorLog, mutexes and the SSL session cache inside DIR; `User nobody` as root.
// reload_count(): "Doing graceful restart" lines (AH00493) in the error log.
class ApacheServer : public ServerProcess {
 public:
  explicit ApacheServer(std::vector<TlsSite> sites);
  std::filesystem::path pid_file() const { return dir() / "run" / "apache2.pid"; }
  int reload_count() const override;

 protected:
  void write_config() const override;
  std::vector<std::string> command() const override;
  bool ready() const override;
};

// HAProxy in master-worker mode: `haproxy -W -f DIR/haproxy.cfg -S DIR/master.sock,mode,600`
// (foreground: pid() is the master), `stats socket DIR/admin.sock mode 600 level admin`, and one
// frontend `bind 127.0.0.1:PORT ssl crt-list DIR/crt-list.txt` with a line `CERT NAME` per site.
// reload_count(): "Reloading HAProxy" lines in its output (reloads via SIGUSR2 or the master
// socket's `reload`, which keeps the connection open across the re-exec: do not wait for a reply).
class HaproxyServer : public ServerProcess {
 public:
  explicit HaproxyServer(std::vector<TlsSite> sites);
  std::filesystem::path admin_socket() const { return dir() / "admin.sock"; }
  std::filesystem::path master_socket() const { return dir() / "master.sock"; }
  std::filesystem::path crt_list() const { return dir() / "crt-list.txt"; }
  pid_t master_pid() const { return pid(); }
  // Current and (after a reload, until their connections end) old workers.
  std::vector<pid_t> worker_pids() const { return child_pids(); }
  // One command on the admin / master socket; returns everything HAProxy answered.
  std::string admin(const std::string &command) const;
  std::string master(const std::string &command) const;
  // Reloads the master-worker (SIGUSR2 to the master; new workers re-read the configuration).
  void reload() const;
  int reload_count() const override;

 protected:
  void write_config() const override;
  std::vector<std::string> command() const override;
  bool ready() const override;
};

}  // namespace certhook::test
