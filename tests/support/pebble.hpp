// A private Pebble (ACME test server) + pebble-challtestsrv (its DNS: every name -> 127.0.0.1),
// started on free 127.0.0.1 ports with config, TLS material and logs in a temp dir, and stopped
// by their own PIDs in the destructor.
#pragma once
#include "net.hpp"
#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

#include "tempdir.hpp"

namespace certhook::test {

struct PebbleOptions {
  int nonce_reject_percent = 50;   // PEBBLE_WFE_NONCEREJECT; Pebble's own default is 5
  bool validation_sleep = false;   // false: PEBBLE_VA_NOSLEEP=1
  std::vector<std::string> domain_blocklist;   // Pebble refuses orders for these and their subdomains
};

class Pebble {
 public:
  // Starts both processes and waits until the directory answers; throws std::runtime_error
  // (with the processes' logs) when they do not come up.
  explicit Pebble(PebbleOptions options = {});
  ~Pebble();
  Pebble(const Pebble &) = delete;
  Pebble &operator=(const Pebble &) = delete;

  const std::string &directory_url() const { return directory_url_; }   // https://127.0.0.1:P/dir
  const std::filesystem::path &ca_bundle() const { return ca_bundle_; } // trust this for Pebble's TLS
  unsigned short http_port() const { return http_port_; }                // where http-01 is validated
  unsigned short acme_port() const { return acme_port_; }
  // The issuing root (PEM) from the management interface (/roots/0); it changes on every start.
  std::string root_pem() const;
  std::string logs() const;   // both processes' output, for failure messages

 private:
  TempDir dir_{"pb"};
  std::string directory_url_;
  std::filesystem::path ca_bundle_;
  unsigned short http_port_ = 0, acme_port_ = 0, management_port_ = 0;
  pid_t pebble_ = -1, challtestsrv_ = -1;
};


// HTTPS GET trusting `ca_bundle`; returns the HTTP status (0 when it could not connect) and body.
long https_get(const std::string &url, const std::filesystem::path &ca_bundle, std::string *body);

}  // namespace certhook::test
