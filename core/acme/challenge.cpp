#include "acme/challenge.hpp"

#include "acme/problem.hpp"
#include "acme/standalone_responder.hpp"
#include "acme/webroot_responder.hpp"

namespace certhook::acme {

std::unique_ptr<ChallengeResponder> make_responder(const ChallengeSettings &settings) {
  if (settings.type != "http-01")
    throw AcmeError("challenge: type \"" + settings.type + "\" is not supported; use \"http-01\"");
  if (settings.mode == ChallengeSettings::Mode::webroot)
    return std::make_unique<WebrootResponder>(settings.webroot);
  return std::make_unique<StandaloneResponder>(settings.listen);
}

}  // namespace certhook::acme
