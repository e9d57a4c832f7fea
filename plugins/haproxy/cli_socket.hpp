// HAProxy's runtime API (the stats socket): one command per connection, read until the server
// closes, a deadline on every socket operation. Unix socket paths and host:port both work.
#pragma once
#include <chrono>
#include <stdexcept>
#include <string>

namespace certhook::haproxy {

// The API could not be reached at all (no socket, connection refused, connect timeout): the case
// where a reload_command fallback applies.
struct Unreachable : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// Reached, but the exchange broke off (timeout, reset) — the state of HAProxy is unknown.
struct ExchangeError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class CliSocket {
 public:
  // `address`: "/path/to/admin.sock", "unix@/path", or "host:port" / "[v6]:port" / "ipv4@host:port".
  CliSocket(std::string address, std::chrono::milliseconds timeout);

  // Sends `command` (a newline is appended when missing) plus `payload` verbatim, and returns
  // everything HAProxy answered, with trailing blank lines removed.
  std::string run(const std::string &command, const std::string &payload = {}) const;

  const std::string &address() const { return address_; }

 private:
  int connect_socket() const;
  std::string address_;
  std::chrono::milliseconds timeout_;
};

}  // namespace certhook::haproxy
