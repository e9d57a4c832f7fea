// http-01 without a web server: a small HTTP server on [challenge] listen (host:port) serving
// /.well-known/acme-challenge/<token>, many connections at once (Pebble validates from several
// vantage points near-simultaneously). Boost.Asio/Beast stay inside the .cpp.
#pragma once
#include <memory>
#include <string>

#include "acme/challenge.hpp"

namespace certhook::acme {

class StandaloneResponder final : public ChallengeResponder {
 public:
  explicit StandaloneResponder(std::string listen);   // "127.0.0.1:80", "[::]:80", "0.0.0.0:80"
  ~StandaloneResponder() override;
  void add(const std::string &token, const std::string &key_authorization) override;
  // Binds and starts serving on a background thread. Throws AcmeError, e.g.
  // "challenge: cannot listen on 127.0.0.1:5002: address in use".
  void start() override;
  void stop() noexcept override;
  unsigned short port() const;   // the bound port (useful with port 0)
  int requests_served() const;   // challenge responses answered with 200

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace certhook::acme
