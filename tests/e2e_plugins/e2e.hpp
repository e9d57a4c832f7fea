// End-to-end tests drive the real `certhook` binary (CERTHOOK_BINARY) with a real configuration in
// a temp dir: state, plugin dirs and lineages all inside it. Shared helpers.
#pragma once
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tempdir.hpp"
#include "testcerts.hpp"

namespace certhook::test {

struct CliRun {
  int exit_code = -1;        // -1: did not exit normally (signal, timeout)
  std::string out, err;
  std::string all() const { return out + err; }
  // For assertion messages.
  std::string describe() const {
    return "exit " + std::to_string(exit_code) + "\n--- stdout\n" + out + "--- stderr\n" + err;
  }
};

// A TOML basic string: "text" with backslashes and quotes escaped.
std::string toml_str(const std::string &text);
// A TOML array of basic strings.
std::string toml_list(const std::vector<std::string> &items);

// Fingerprint (SHA-256 of the leaf's DER, lowercase hex) that 127.0.0.1:port presents for SNI
// `server_name`, from a plain OpenSSL handshake made here (independent of certhook's own probe).
// Empty when no handshake completes.
std::string handshake_fingerprint(std::uint16_t port, const std::string &server_name);
// Polls handshake_fingerprint until it equals `want` or `timeout` passes; returns the last seen.
std::string wait_for_handshake(std::uint16_t port, const std::string &server_name,
                               const std::string &want, std::chrono::milliseconds timeout);

// One certhook configuration in a temp dir:
//   DIR/certhook.toml, DIR/state (state_dir), DIR/hooks.d, DIR/plugins (fixture copies).
class CerthookEnv {
 public:
  explicit CerthookEnv(const std::string &prefix = "e2");

  const std::filesystem::path &dir() const { return dir_.path(); }
  std::filesystem::path config() const { return dir() / "certhook.toml"; }
  std::filesystem::path state() const { return dir() / "state"; }
  std::filesystem::path plugins() const { return dir() / "plugins"; }

  // Copies tests/plugin/fixtures' NAME.so into plugins() (0644).
  void add_fixture(const std::string &name, const std::string &as = "") const;
  // Writes certhook.toml: a [certhook] table (state_dir, hooks_dir and plugin_dirs: plugins()
  // plus `extra_plugin_dirs`) followed by `body`.
  void write_config(const std::string &body, const std::vector<std::filesystem::path> &extra_plugin_dirs = {},
                    const std::string &certhook_extra = "") const;

  // certhook --config DIR/certhook.toml ARGS...
  CliRun certhook(const std::vector<std::string> &args,
                  std::chrono::seconds timeout = std::chrono::seconds(120)) const;
  // `certhook --json ARGS...`, parsed (a test failure, and null, when stdout is not one JSON object).
  nlohmann::json certhook_json(const std::vector<std::string> &args, CliRun *run = nullptr) const;

  // STATE/journal/NAME.json (null when missing).
  nlohmann::json journal(const std::string &certificate) const;
  // One hook's record in it (null when missing).
  nlohmann::json hook_record(const std::string &certificate, const std::string &hook) const;

 private:
  TempDir dir_;
};

// The built first-party plugins (nginx.so, apache.so, haproxy.so, webhook.so).
std::filesystem::path first_party_plugin_dir();
std::filesystem::path fixture_plugin(const std::string &name);

inline bool contains(const std::string &text, const std::string &part) {
  return text.find(part) != std::string::npos;
}
// The summary line `run` prints for one failed hook ("" when there is none).
std::string failed_line(const std::string &out, const std::string &cert, const std::string &hook);

}  // namespace certhook::test
