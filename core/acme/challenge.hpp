// http-01 challenge responders: what makes /.well-known/acme-challenge/<token> answer with the
// key authorization while the CA validates. Errors throw AcmeError reading "challenge: ...".
#pragma once
#include <memory>
#include <string>

#include "config/config.hpp"

namespace certhook::acme {

class ChallengeResponder {
 public:
  virtual ~ChallengeResponder() = default;
  // Publishes a token. May be called before or after start().
  virtual void add(const std::string &token, const std::string &key_authorization) = 0;
  // Makes the published tokens reachable (standalone: binds and serves).
  virtual void start() = 0;
  // Withdraws everything published; safe to call twice, never throws. Destructors call it.
  virtual void stop() noexcept = 0;
};

// The responder for `settings` (standalone or webroot); only http-01 is supported.
std::unique_ptr<ChallengeResponder> make_responder(const ChallengeSettings &settings);

}  // namespace certhook::acme
