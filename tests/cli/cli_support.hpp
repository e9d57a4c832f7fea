// Helpers for end-to-end tests that run the built `certhook` binary as a process: a scratch
// server layout (config, lineages, hooks.d, state), shell-script hooks, and /proc scans.
#pragma once
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tempdir.hpp"
#include "testcerts.hpp"

namespace certhook::test {

struct CliResult {
  int status = -1;          // exit status; -1 when killed by a signal
  std::string out, err;     // stdout, stderr
  double seconds = 0;       // wall time
  nlohmann::json json() const;   // stdout parsed; a parse failure fails the test
};

// A certhook started in the background (stdout/stderr go to files in `dir`).
struct Background {
  pid_t pid = -1;
  std::filesystem::path out, err;
  CliResult wait();         // waits for it to end
};

// Runs CERTHOOK_BINARY with `args`, in `cwd`, with exactly `env` ("K=V") as its environment.
CliResult run_certhook(const std::vector<std::string> &args, const std::filesystem::path &cwd,
                       const std::vector<std::string> &env);
Background start_certhook(const std::vector<std::string> &args, const std::filesystem::path &cwd,
                          const std::vector<std::string> &env, const std::filesystem::path &dir);

// Processes (not zombies) whose environment holds `needle` ("K=V") or whose argv holds it.
std::vector<pid_t> processes_with_env(const std::string &needle);
std::vector<pid_t> processes_with_arg(const std::string &needle);

// Waits until `path` exists (true) or `limit` passes (false).
bool wait_for_file(const std::filesystem::path &path, std::chrono::seconds limit);

// Lines of a text file (missing file: none).
std::vector<std::string> read_lines(const std::filesystem::path &path);

// "K=V" lines of a file written by `env` into a map.
std::map<std::string, std::string> read_env_dump(const std::filesystem::path &path);

// A TOML basic string, quoted and escaped.
std::string toml_string(const std::string &s);
std::string toml_array(const std::vector<std::string> &items);

// NOT_AFTER of a PEM certificate as YYYY-MM-DDTHH:MM:SSZ (computed with OpenSSL here).
std::string not_after_of(const std::string &cert_pem);

// Recursive listing of a directory: path, type, size and mtime (ns) per entry.
std::string snapshot(const std::filesystem::path &dir);

// A scratch server: TEMP/certhook.toml, TEMP/state, TEMP/hooks.d, TEMP/lineages/<name>, hooks in
// TEMP/bin; the test assembles the config text from hooks and certificates.
class Scratch {
 public:
  Scratch();
  const std::filesystem::path &dir() const { return tmp_.path(); }
  std::filesystem::path operator/(const std::string &n) const { return tmp_ / n; }
  std::filesystem::path config() const { return tmp_ / "certhook.toml"; }
  std::filesystem::path state() const { return tmp_ / "state"; }

  // A lineage for `name` (certbot layout) at TEMP/lineages/<name>; returns the leaf.
  Pem lineage(const std::string &name, const std::vector<std::string> &names = {});
  std::filesystem::path lineage_dir(const std::string &name) const { return tmp_ / "lineages" / name; }
  // An executable script in TEMP/bin (or the path given) with `body` after "#!/bin/sh\n".
  std::filesystem::path script(const std::string &name, const std::string &body);
  std::filesystem::path hooks_d(const std::string &phase, const std::string &file, const std::string &body);

  // Writes the config: [certhook] header (max_parallel) + extra text.
  void write_config(const std::string &body, int max_parallel = 4);

  // certhook with --config and the given arguments; env = base_env() + extra.
  CliResult run(const std::vector<std::string> &args, const std::vector<std::string> &extra_env = {}) const;
  Background start(const std::vector<std::string> &args, const std::vector<std::string> &extra_env = {}) const;
  std::vector<std::string> base_env() const;

  // The journal file of a certificate (parsed).
  nlohmann::json journal(const std::string &name) const;

  Pem ca;

 private:
  TempDir tmp_;
};

// An exec hook table: [[hook]] name/type plus extra lines (TOML key = value) and
// options = { command = [...], <options_extra> }.
std::string exec_hook(const std::string &name, const std::vector<std::string> &command,
                      const std::string &extra = "", const std::string &options_extra = "");
// A [[certificate]] with source = a path lineage.
std::string path_certificate(const std::string &name, const std::filesystem::path &source,
                             const std::vector<std::string> &hooks, const std::string &extra = "");

}  // namespace certhook::test
