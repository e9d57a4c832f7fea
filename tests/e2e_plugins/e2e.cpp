#include "e2e.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <sstream>

#include <thread>

#include "plugin/host_process.hpp"

namespace fs = std::filesystem;

namespace certhook::test {

std::string toml_str(const std::string &text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '\\' || c == '"') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string toml_list(const std::vector<std::string> &items) {
  std::string out = "[";
  for (const auto &i : items) out += (out.size() > 1 ? ", " : "") + toml_str(i);
  return out + "]";
}

std::string handshake_fingerprint(std::uint16_t port, const std::string &server_name) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return "";
  timeval tv{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0) {
    ::close(fd);
    return "";
  }
  std::string fp;
  SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
  SSL *ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd);
  SSL_set_tlsext_host_name(ssl, server_name.c_str());
  if (SSL_connect(ssl) == 1) {
    if (X509 *peer = SSL_get1_peer_certificate(ssl)) {
      unsigned char md[EVP_MAX_MD_SIZE];
      unsigned len = 0;
      if (X509_digest(peer, EVP_sha256(), md, &len) == 1) {
        static constexpr char hex[] = "0123456789abcdef";
        for (unsigned i = 0; i < len; ++i) {
          fp += hex[md[i] >> 4];
          fp += hex[md[i] & 15];
        }
      }
      X509_free(peer);
    }
    SSL_shutdown(ssl);
  }
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  ::close(fd);
  return fp;
}

std::string wait_for_handshake(std::uint16_t port, const std::string &server_name, const std::string &want,
                               std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  std::string seen;
  for (;;) {
    seen = handshake_fingerprint(port, server_name);
    if (seen == want || std::chrono::steady_clock::now() >= end) return seen;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

fs::path first_party_plugin_dir() { return CERTHOOK_PLUGIN_DIR; }
fs::path fixture_plugin(const std::string &name) { return fs::path(CERTHOOK_FIXTURE_DIR) / (name + ".so"); }

CerthookEnv::CerthookEnv(const std::string &prefix) : dir_(prefix) {
  fs::create_directories(plugins());
  fs::permissions(dir(), fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                             fs::perms::others_read | fs::perms::others_exec);
}

void CerthookEnv::add_fixture(const std::string &name, const std::string &as) const {
  const fs::path to = plugins() / ((as.empty() ? name : as) + ".so");
  fs::copy_file(fixture_plugin(name), to, fs::copy_options::overwrite_existing);
  fs::permissions(to, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                          fs::perms::others_read);
}

void CerthookEnv::write_config(const std::string &body, const std::vector<fs::path> &extra_plugin_dirs,
                               const std::string &certhook_extra) const {
  std::vector<std::string> dirs = {plugins().string()};
  for (const auto &d : extra_plugin_dirs) dirs.push_back(d.string());
  write_text(config(), "[certhook]\nstate_dir = " + toml_str(state().string()) +
                           "\nhooks_dir = " + toml_str((dir() / "hooks.d").string()) +
                           "\nplugin_dirs = " + toml_list(dirs) + "\n" + certhook_extra + "\n" + body);
}

CliRun CerthookEnv::certhook(const std::vector<std::string> &args, std::chrono::seconds timeout) const {
  std::vector<std::string> argv = {CERTHOOK_BINARY, "--config", config().string()};
  argv.insert(argv.end(), args.begin(), args.end());
  CapturedRun r = run_captured(argv, timeout);
  CliRun out;
  out.exit_code = r.started && !r.timed_out && r.signal == 0 ? r.exit_code : -1;
  out.out = r.out;
  out.err = r.err;
  if (!r.started) out.err += "(not started: " + r.error + ")";
  if (r.timed_out) out.err += "(timed out)";
  if (r.signal) out.err += "(killed by signal " + std::to_string(r.signal) + ")";
  return out;
}

nlohmann::json CerthookEnv::certhook_json(const std::vector<std::string> &args, CliRun *run) const {
  std::vector<std::string> all = {"--json"};
  all.insert(all.end(), args.begin(), args.end());
  CliRun r = certhook(all);
  if (run) *run = r;
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    ADD_FAILURE() << "not one JSON object on stdout: " << r.describe();
    return nullptr;
  }
  return j;
}

nlohmann::json CerthookEnv::journal(const std::string &certificate) const {
  const fs::path p = state() / "journal" / (certificate + ".json");
  if (!fs::exists(p)) return nullptr;
  return nlohmann::json::parse(read_text(p));
}

nlohmann::json CerthookEnv::hook_record(const std::string &certificate, const std::string &hook) const {
  auto j = journal(certificate);
  if (!j.is_object() || !j.contains("hooks") || !j["hooks"].contains(hook)) return nullptr;
  return j["hooks"][hook];
}

std::string failed_line(const std::string &out, const std::string &cert, const std::string &hook) {
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);)
    if (line.starts_with("failed: " + cert + ": " + hook + ": ")) return line;
  return "";
}

}  // namespace certhook::test
