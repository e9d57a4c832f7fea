#include "pebble.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>

#include <chrono>
#include <cstring>
#include <stdexcept>
#include <thread>
#include <vector>

#include "testcerts.hpp"

extern char **environ;

namespace certhook::test {

namespace fs = std::filesystem;


namespace {

size_t collect(char *data, size_t size, size_t n, void *user) {
  static_cast<std::string *>(user)->append(data, size * n);
  return size * n;
}

pid_t spawn(const std::vector<std::string> &argv, const std::vector<std::string> &extra_env,
            const fs::path &log) {
  std::vector<std::string> env_strings = extra_env;
  for (char **e = environ; *e; ++e) env_strings.emplace_back(*e);
  std::vector<char *> envp, args;
  for (auto &s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_copy = argv;
  for (auto &s : argv_copy) args.push_back(s.data());
  args.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  pid_t pid = -1;
  int rc = ::posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) throw std::runtime_error("pebble: cannot start " + argv[0] + ": " + std::strerror(rc));
  return pid;
}

void stop_pid(pid_t &pid) {
  if (pid <= 0) return;
  ::kill(pid, SIGTERM);
  for (int i = 0; i < 250; ++i) {
    if (::waitpid(pid, nullptr, WNOHANG) == pid) {
      pid = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  pid = -1;
}

bool exited(pid_t pid) {
  int status = 0;
  return ::waitpid(pid, &status, WNOHANG) == pid;
}

bool tcp_open(unsigned short port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

long https_get(const std::string &url, const fs::path &ca_bundle, std::string *body) {
  CURL *c = curl_easy_init();
  std::string out;
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_CAINFO, ca_bundle.c_str());
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
  long status = 0;
  if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(c);
  if (body) *body = std::move(out);
  return status;
}

Pebble::Pebble(PebbleOptions options) {
  // TLS for Pebble's own listeners (the Debian package ships none).
  Pem ca = make_ca("certhook test Pebble TLS CA");
  LeafOptions lo;
  lo.names = {"localhost", "127.0.0.1"};
  Pem leaf = make_leaf(ca, lo);
  ca_bundle_ = dir_ / "tls-ca.pem";
  write_text(ca_bundle_, ca.cert);
  write_text(dir_ / "tls-cert.pem", leaf.cert);
  write_text(dir_ / "tls-key.pem", leaf.key, 0600);

  acme_port_ = free_port();
  management_port_ = free_port();
  http_port_ = free_port();
  unsigned short tls_port = free_port(), dns_port = free_port(), chall_mgmt = free_port();
  directory_url_ = "https://127.0.0.1:" + std::to_string(acme_port_) + "/dir";

  std::string blocklist;
  for (const auto &d : options.domain_blocklist) blocklist += (blocklist.empty() ? "\"" : ", \"") + d + "\"";
  write_text(dir_ / "pebble.json",
             "{\"pebble\": {\n"
             "  \"listenAddress\": \"127.0.0.1:" + std::to_string(acme_port_) + "\",\n"
             "  \"managementListenAddress\": \"127.0.0.1:" + std::to_string(management_port_) + "\",\n"
             "  \"certificate\": \"" + (dir_ / "tls-cert.pem").string() + "\",\n"
             "  \"privateKey\": \"" + (dir_ / "tls-key.pem").string() + "\",\n"
             "  \"httpPort\": " + std::to_string(http_port_) + ",\n"
             "  \"tlsPort\": " + std::to_string(tls_port) + ",\n"
             "  \"ocspResponderURL\": \"\",\n"
             "  \"externalAccountBindingRequired\": false,\n"
             "  \"domainBlocklist\": [" + blocklist + "]\n}}\n");

  challtestsrv_ = spawn({"pebble-challtestsrv", "-defaultIPv4", "127.0.0.1", "-defaultIPv6", "", "-dns01",
                         "127.0.0.1:" + std::to_string(dns_port), "-http01", "", "-https01", "", "-tlsalpn01", "",
                         "-management", "127.0.0.1:" + std::to_string(chall_mgmt)},
                        {}, dir_ / "challtestsrv.log");
  std::vector<std::string> env = {"PEBBLE_WFE_NONCEREJECT=" + std::to_string(options.nonce_reject_percent)};
  if (!options.validation_sleep) env.push_back("PEBBLE_VA_NOSLEEP=1");
  pebble_ = spawn({"pebble", "-config", (dir_ / "pebble.json").string(), "-dnsserver",
                   "127.0.0.1:" + std::to_string(dns_port)},
                  env, dir_ / "pebble.log");

  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  bool dns_up = false, acme_up = false;
  while (std::chrono::steady_clock::now() < until) {
    if (exited(pebble_) || exited(challtestsrv_)) {
      pebble_ = exited(pebble_) ? -1 : pebble_;
      std::string l = logs();
      stop_pid(pebble_);
      stop_pid(challtestsrv_);
      throw std::runtime_error("pebble: a process exited during start-up:\n" + l);
    }
    dns_up = dns_up || tcp_open(chall_mgmt);
    acme_up = acme_up || https_get(directory_url_, ca_bundle_, nullptr) == 200;
    if (dns_up && acme_up) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::string l = logs();
  stop_pid(pebble_);
  stop_pid(challtestsrv_);
  throw std::runtime_error("pebble: did not come up within 20s:\n" + l);
}

Pebble::~Pebble() {
  stop_pid(pebble_);
  stop_pid(challtestsrv_);
}

std::string Pebble::root_pem() const {
  std::string body;
  long status = https_get("https://127.0.0.1:" + std::to_string(management_port_) + "/roots/0", ca_bundle_, &body);
  if (status != 200) throw std::runtime_error("pebble: /roots/0 answered HTTP " + std::to_string(status));
  return body;
}

std::string Pebble::logs() const {
  std::string out;
  for (const char *f : {"pebble.log", "challtestsrv.log"}) {
    std::error_code ec;
    if (fs::exists(dir_ / f, ec)) out += std::string("--- ") + f + "\n" + read_text(dir_ / f);
  }
  return out;
}

}  // namespace certhook::test
