// Replaces a certificate in a running HAProxy over its runtime API, without a reload, following
// HAProxy 2.6's rules: one global certificate transaction, a payload that ends at the first empty
// line, a key that only `commit` checks, and memory-only changes (so the file is written too, but
// only after HAProxy accepted the certificate).
#pragma once
#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace certhook::haproxy {

struct Settings {
  std::string socket;                       // Unix socket path or host:port
  std::string cert_file;                    // crt path HAProxy knows; "{name}" → certificate name
  std::string crt_list;                     // where a certificate HAProxy does not know is added
  bool write_file = true;                   // also replace cert_file on disk
  std::vector<std::string> reload_command;  // fallback when the API cannot be reached
  std::chrono::milliseconds timeout{10000}; // per socket operation
  long lock_wait_ms = 120000;               // waiting for another deploy to the same HAProxy
};

struct CertificateFiles {
  std::string name, cert_path, key_path, chain_path, fullchain_path;
};

struct Outcome {
  int status = 0;  // certhook_status: 0 ok, 1 failed (retried), 2 permanent
  std::string message;
};

using Logger = std::function<void(int level, const std::string &message)>;  // certhook_log_level

// The crt path for one certificate: cert_file with every "{name}" replaced.
std::string expand_cert_file(const std::string &pattern, const std::string &cert_name);

Outcome hot_update(const Settings &settings, const CertificateFiles &cert, const Logger &log);

// Changes nothing: the socket answers, has level admin, the crt path is known (or crt_list is set
// and known), and the crt path's directory is writable when write_file is set.
Outcome check_ready(const Settings &settings, const std::vector<std::string> &cert_names,
                    const Logger &log);

}  // namespace certhook::haproxy
