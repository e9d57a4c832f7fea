// A real server serving N TLS sites (s0.test, s1.test, ...) from lineage directories, each with an
// "old" certificate served at start and a "new" one a test can install, plus the plugin options
// that address that server. Shared by the nginx and apache plugin tests.
#pragma once
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "plugin_host.hpp"
#include "servers.hpp"
#include "testcerts.hpp"
#include "verify/tls_probe.hpp"

namespace certhook::test {

template <class Server>
struct ServerFixture : ::testing::Test {
  TempDir work{"pt"};
  Pem ca = make_ca();
  std::vector<std::string> names;
  std::vector<Pem> old_certs, new_certs;
  std::unique_ptr<Server> server;

  void start(int sites) {
    std::vector<TlsSite> list;
    for (int i = 0; i < sites; ++i) {
      names.push_back("s" + std::to_string(i) + ".test");
      old_certs.push_back(make_leaf(ca, {.names = {names.back()}}));
      new_certs.push_back(make_leaf(ca, {.names = {names.back()}}));
      write_lineage(lineage(i), old_certs.back(), ca);
      list.push_back({names.back(), lineage(i) / "fullchain.pem", lineage(i) / "privkey.pem"});
    }
    server = std::make_unique<Server>(std::move(list));
  }

  std::filesystem::path lineage(int i) const { return work / "live" / names[static_cast<size_t>(i)]; }
  std::string old_fp(int i) const { return fingerprint_of(old_certs[static_cast<size_t>(i)].cert); }
  std::string new_fp(int i) const { return fingerprint_of(new_certs[static_cast<size_t>(i)].cert); }
  // Rewrites the files the server config points to, as certhook's live/ update would.
  void install_new(int i) { write_lineage(lineage(i), new_certs[static_cast<size_t>(i)], ca); }

  std::string served(int i) const {
    return served_fingerprint(server->connect(), names[static_cast<size_t>(i)], std::chrono::seconds(5));
  }
  VerifyOutcome wait_new(int i, Duration timeout = std::chrono::seconds(5)) const {
    return wait_for_fingerprint(server->connect(), names[static_cast<size_t>(i)], new_fp(i), timeout);
  }

  // binary and args addressing this instance, plus `extra`.
  nlohmann::json options(nlohmann::json extra = nlohmann::json::object()) const {
    nlohmann::json o = {{"binary", server->binary()}, {"args", server->args()}};
    o.update(extra);
    return o;
  }
  nlohmann::json certificates(int count) const {
    auto list = nlohmann::json::array();
    for (int i = 0; i < count; ++i) list.push_back(certificate_json(names[static_cast<size_t>(i)], lineage(i)));
    return list;
  }
  HostCall call(const std::string &plugin, const std::string &verb, const nlohmann::json &opts,
                int count = 1) {
    return call_plugin_host(plugin, verb, opts, certificates(count), work.path());
  }

  void break_config() const {
    std::string text = read_text(server->config_path());
    write_text(server->config_path(), text + "this is not a directive;\n");
  }
};

inline std::string describe(const HostCall &c) {
  return "exit " + std::to_string(c.exit_code) + ", status " + c.status + ", message: " + c.message +
         "\nhost output: " + c.output;
}

}  // namespace certhook::test
