// http-01 through an existing web server: WEBROOT/.well-known/acme-challenge/<token> (0644),
// removed again by stop(), together with the directories it had to create.
#pragma once
#include <filesystem>
#include <mutex>
#include <vector>

#include "acme/challenge.hpp"

namespace certhook::acme {

class WebrootResponder final : public ChallengeResponder {
 public:
  explicit WebrootResponder(std::filesystem::path webroot);
  ~WebrootResponder() override;
  void add(const std::string &token, const std::string &key_authorization) override;
  void start() override {}
  void stop() noexcept override;

 private:
  std::filesystem::path webroot_;
  std::mutex mutex_;
  std::vector<std::filesystem::path> files_;
  std::vector<std::filesystem::path> created_dirs_;   // outermost first
};

}  // namespace certhook::acme
