#include "servers.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace certhook::test {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

constexpr auto start_timeout = 15s;
constexpr auto stop_timeout = 5s;
constexpr int start_attempts = 4;

std::string slurp(const fs::path &p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string tail(const std::string &text, std::size_t n = 3000) {
  return text.size() <= n ? text : "..." + text.substr(text.size() - n);
}

bool pid_file_names(const fs::path &file, pid_t pid) {
  std::ifstream in(file);
  long value = 0;
  return (in >> value) && value == pid;
}

// Field 4 of /proc/PID/stat; -1 when unknown.
pid_t parent_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return -1;
  auto close = line.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream rest(line.substr(close + 2));
  char state = 0;
  long ppid = -1;
  rest >> state >> ppid;
  return static_cast<pid_t>(ppid);
}

bool running_as_root() { return ::geteuid() == 0; }

}  // namespace


bool accepts_connections(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

bool process_alive(pid_t pid) {
  if (pid <= 0 || (::kill(pid, 0) != 0 && errno != EPERM)) return false;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return false;
  auto close = line.rfind(')');
  char state = close != std::string::npos && close + 2 < line.size() ? line[close + 2] : '?';
  return state != 'Z' && state != 'X';
}

namespace {
bool unix_socket_accepts(const fs::path &socket) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, socket.c_str(), sizeof addr.sun_path - 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  bool ok = ::connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}
}  // namespace

std::string unix_socket_exchange(const fs::path &socket, const std::string &text) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket.string().size() >= sizeof addr.sun_path)
    throw std::runtime_error(socket.string() + ": socket path too long");
  std::strncpy(addr.sun_path, socket.c_str(), sizeof addr.sun_path - 1);
  // HAProxy's master stops listening on its CLI while it (re)loads: retry briefly.
  int fd = -1;
  const auto deadline = std::chrono::steady_clock::now() + 3s;
  for (;;) {
    fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error(socket.string() + ": socket: " + std::strerror(errno));
    if (::connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) == 0) break;
    int err = errno;
    ::close(fd);
    bool transient = err == ECONNREFUSED || err == ENOENT || err == EAGAIN;
    if (!transient || std::chrono::steady_clock::now() >= deadline)
      throw std::runtime_error(socket.string() + ": cannot connect: " + std::strerror(err));
    std::this_thread::sleep_for(10ms);
  }
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::size_t sent = 0;
  while (sent < text.size()) {
    ssize_t n = ::write(fd, text.data() + sent, text.size() - sent);
    if (n <= 0) break;
    sent += static_cast<std::size_t>(n);
  }
  ::shutdown(fd, SHUT_WR);  // the master CLI otherwise keeps the connection open
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) { out.append(buf, static_cast<std::size_t>(n)); continue; }
    if (n < 0 && errno == EINTR) continue;
    break;
  }
  ::close(fd);
  return out;
}

// ---- ServerProcess ------------------------------------------------------------------------

ServerProcess::ServerProcess(const std::string &kind, std::vector<TlsSite> sites, int stop_signal)
    : dir_(kind.substr(0, 2)), sites_(std::move(sites)), kind_(kind), stop_signal_(stop_signal) {
  if (sites_.empty()) throw std::invalid_argument(kind + ": at least one TLS site is needed");
  fs::create_directories(dir() / "logs");
  error_log_ = dir() / "logs" / "error.log";
  output_log_ = dir() / "logs" / "output.log";
}

ServerProcess::~ServerProcess() { stop(); }

void ServerProcess::launch() {
  std::string why;
  for (int attempt = 0; attempt < start_attempts; ++attempt) {
    port_ = free_port();
    write_config();
    if (start_once(&why)) return;
    // Another process may have taken the port between free_port() and the bind: try another.
    if (why.find("ddress already in use") == std::string::npos) break;
  }
  throw std::runtime_error(kind_ + ": did not start (config " + config_.string() + "): " + why);
}

bool ServerProcess::start_once(std::string *why) {
  const std::vector<std::string> argv_strings = command();
  std::vector<char *> argv;
  for (const auto &a : argv_strings) argv.push_back(const_cast<char *>(a.c_str()));
  argv.push_back(nullptr);
  int out = ::open(output_log_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (out < 0 || null < 0) throw std::runtime_error(kind_ + ": cannot open " + output_log_.string());
  const pid_t parent = ::getpid();
  const std::size_t error_log_offset = slurp(error_log_).size();
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error(kind_ + ": fork failed");
  if (pid == 0) {
    // Only async-signal-safe calls here.
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(127);
    ::dup2(null, 0);
    ::dup2(out, 1);
    ::dup2(out, 2);
    ::close_range(3, ~0u, 0);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(out);
  ::close(null);
  pid_ = pid;
  reaped_ = false;
  const auto deadline = std::chrono::steady_clock::now() + start_timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!running()) {
      *why = "exited during start-up: " + tail(slurp(output_log_)) + " " +
             tail(slurp(error_log_).substr(error_log_offset));
      return false;
    }
    if (accepts_connections(port_) && ready()) return true;
    std::this_thread::sleep_for(10ms);
  }
  stop();
  *why = "not ready within 15s: " + tail(slurp(output_log_));
  return false;
}

bool ServerProcess::running() {
  if (reaped_) return false;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_ || (r < 0 && errno == ECHILD)) {
    reaped_ = true;
    return false;
  }
  return true;
}

std::vector<pid_t> ServerProcess::child_pids() const {
  std::vector<pid_t> out;
  if (pid_ <= 0) return out;
  for (const auto &entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    pid_t p = static_cast<pid_t>(std::stol(name));
    if (parent_of(p) == pid_ && process_alive(p)) out.push_back(p);
  }
  return out;
}

void ServerProcess::stop() {
  if (reaped_) return;
  const std::vector<pid_t> children = child_pids();
  ::kill(pid_, stop_signal_);
  const auto deadline = std::chrono::steady_clock::now() + stop_timeout;
  while (running() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(5ms);
  if (!reaped_) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    reaped_ = true;
  }
  // Workers normally leave with their master; after a SIGKILL, or a worker still draining after
  // a reload, they may not have. They are all in the process group the launcher created (its
  // id is the master's PID): kill what is left of it and wait, bounded, until the group is empty,
  // so that the caller sees every process of the server gone and its port closed.
  for (pid_t child : children)
    if (process_alive(child)) ::kill(child, SIGKILL);
  if (::kill(-pid_, 0) == 0) ::kill(-pid_, SIGKILL);
  const auto gone_by = std::chrono::steady_clock::now() + stop_timeout;
  while (std::chrono::steady_clock::now() < gone_by) {
    bool left = ::kill(-pid_, 0) == 0;
    for (pid_t child : children) left = left || process_alive(child);
    if (!left) break;
    std::this_thread::sleep_for(5ms);
  }
}

int ServerProcess::count_lines(const fs::path &file, const std::string &needle) const {
  std::istringstream in(slurp(file));
  std::string line;
  int n = 0;
  while (std::getline(in, line))
    if (line.find(needle) != std::string::npos) ++n;
  return n;
}

// ---- nginx --------------------------------------------------------------------------------

NginxServer::NginxServer(std::vector<TlsSite> sites)
    : ServerProcess("nginx", std::move(sites), SIGTERM) {
  binary_ = "/usr/sbin/nginx";
  config_ = dir() / "nginx.conf";
  fs::create_directories(dir() / "tmp");
  args_ = {"-p", dir().string() + "/", "-c", config_.string(), "-e", error_log_.string()};
  launch();
}

void NginxServer::write_config() const {
  const std::string d = dir().string();
  std::ostringstream c;
  c << "daemon off;\nmaster_process on;\nworker_processes 1;\n"
    << "pid " << d << "/nginx.pid;\n"
    << "error_log " << error_log_.string() << " notice;\n"
    << (running_as_root() ? "user nobody nogroup;\n" : "")
    << "events { worker_connections 256; }\n"
    << "http {\n  access_log off;\n";
  for (const char *t : {"client_body", "proxy", "fastcgi", "uwsgi", "scgi"})
    c << "  " << t << "_temp_path " << d << "/tmp/" << t << ";\n";
  c << "  ssl_session_cache off;\n  ssl_session_tickets off;\n";
  bool first = true;
  for (const auto &s : sites_) {
    c << "  server {\n    listen 127.0.0.1:" << port_ << " ssl" << (first ? " default_server" : "")
      << ";\n    server_name " << s.server_name << ";\n"
      << "    ssl_certificate " << s.cert.string() << ";\n"
      << "    ssl_certificate_key " << s.key.string() << ";\n"
      << "    return 200 \"" << s.server_name << "\\n\";\n  }\n";
    first = false;
  }
  c << "}\n";
  write_text(config_, c.str());
}

std::vector<std::string> NginxServer::command() const {
  std::vector<std::string> argv{binary_};
  argv.insert(argv.end(), args_.begin(), args_.end());
  return argv;
}

bool NginxServer::ready() const { return pid_file_names(pid_file(), pid()); }

int NginxServer::reload_count() const { return count_lines(error_log_, "(SIGHUP) received"); }

// ---- Apache -------------------------------------------------------------------------------

ApacheServer::ApacheServer(std::vector<TlsSite> sites)
    : ServerProcess("apache", std::move(sites), SIGTERM) {
  binary_ = "/usr/sbin/apache2";
  config_ = dir() / "apache2.conf";
  fs::create_directories(dir() / "run");
  fs::create_directories(dir() / "htdocs");
  args_ = {"-f", config_.string()};
  launch();
}

void ApacheServer::write_config() const {
  const std::string d = dir().string();
  const std::string modules = "/usr/lib/apache2/modules/";
  std::ostringstream c;
  c << "ServerRoot \"" << d << "\"\nServerName localhost\n"
    << "DefaultRuntimeDir \"" << d << "/run\"\n"
    << "PidFile \"" << d << "/run/apache2.pid\"\n"
    << "ErrorLog \"" << error_log_.string() << "\"\nLogLevel warn\n"
    << "DocumentRoot \"" << d << "/htdocs\"\n"
    << (running_as_root() ? "User nobody\nGroup nogroup\n" : "");
  for (const char *m : {"mpm_event", "authz_core", "socache_shmcb", "ssl"})
    c << "LoadModule " << m << "_module " << modules << "mod_" << m << ".so\n";
  // Small, and with scoreboard room for the old children of several graceful restarts.
  c << "StartServers 1\nServerLimit 16\nThreadLimit 4\nThreadsPerChild 4\n"
    << "MaxRequestWorkers 64\nMinSpareThreads 4\nMaxSpareThreads 8\n"
    << "Mutex file:" << d << "/run default\n"
    << "SSLSessionCache \"shmcb:" << d << "/run/ssl_scache(512000)\"\n"
    << "SSLSessionTickets off\n"
    << "Listen 127.0.0.1:" << port_ << "\n";
  for (const auto &s : sites_)
    c << "<VirtualHost 127.0.0.1:" << port_ << ">\n  ServerName " << s.server_name
      << "\n  SSLEngine on\n  SSLCertificateFile \"" << s.cert.string()
      << "\"\n  SSLCertificateKeyFile \"" << s.key.string() << "\"\n</VirtualHost>\n";
  write_text(config_, c.str());
}

std::vector<std::string> ApacheServer::command() const {
  return {binary_, "-f", config_.string(), "-D", "FOREGROUND"};
}

bool ApacheServer::ready() const { return pid_file_names(pid_file(), pid()); }

int ApacheServer::reload_count() const { return count_lines(error_log_, "Doing graceful restart"); }

// ---- HAProxy ------------------------------------------------------------------------------

HaproxyServer::HaproxyServer(std::vector<TlsSite> sites)
    : ServerProcess("haproxy", std::move(sites), SIGTERM) {
  binary_ = "/usr/sbin/haproxy";
  config_ = dir() / "haproxy.cfg";
  error_log_ = output_log_;  // HAProxy logs to syslog; its start-up and reload notices go here
  args_ = {"-f", config_.string()};
  launch();
}

void HaproxyServer::write_config() const {
  std::ostringstream list;
  for (const auto &s : sites_) list << s.cert.string() << " " << s.server_name << "\n";
  write_text(crt_list(), list.str());
  std::ostringstream c;
  c << "global\n  stats socket " << admin_socket().string() << " mode 600 level admin\n"
    << "  pidfile " << (dir() / "haproxy.pid").string() << "\n"
    << "defaults\n  mode http\n  timeout connect 5s\n  timeout client 30s\n"
    << "  timeout server 30s\n"
    << "frontend tls\n  bind 127.0.0.1:" << port_ << " ssl crt-list " << crt_list().string()
    << "\n  http-request return status 200 content-type text/plain string ok\n";
  write_text(config_, c.str());
}

std::vector<std::string> HaproxyServer::command() const {
  return {binary_, "-W", "-f", config_.string(), "-S", master_socket().string() + ",mode,600"};
}

bool HaproxyServer::ready() const {
  // The master prints "Loading success." once the worker is up; its CLI may refuse before.
  return count_lines(output_log_, "Loading success") > 0 && unix_socket_accepts(admin_socket()) &&
         unix_socket_accepts(master_socket());
}

void HaproxyServer::reload() const { ::kill(pid(), SIGUSR2); }

std::string HaproxyServer::admin(const std::string &command) const {
  return unix_socket_exchange(admin_socket(), command + "\n");
}

std::string HaproxyServer::master(const std::string &command) const {
  return unix_socket_exchange(master_socket(), command + "\n");
}

int HaproxyServer::reload_count() const {
  return count_lines(output_log_, "Reloading HAProxy");
}

}  // namespace certhook::test
