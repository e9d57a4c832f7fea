#include "acme/webroot_responder.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <spdlog/spdlog.h>
#include <system_error>

#include "acme/problem.hpp"
#include "util/atomic_file.hpp"

namespace certhook::acme {

namespace fs = std::filesystem;

namespace {
bool token_is_safe(const std::string &token) {
  if (token.empty()) return false;
  for (char c : token)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) return false;
  return true;
}
}  // namespace

WebrootResponder::WebrootResponder(fs::path webroot) : webroot_(std::move(webroot)) {}
WebrootResponder::~WebrootResponder() { stop(); }

void WebrootResponder::add(const std::string &token, const std::string &key_authorization) {
  if (!token_is_safe(token)) throw AcmeError("challenge: the server sent an unsafe token \"" + token + "\"");
  std::lock_guard lock(mutex_);
  std::error_code ec;
  if (!fs::is_directory(webroot_, ec))
    throw AcmeError("challenge: webroot " + webroot_.string() +
                    " is not a directory; create it or fix [challenge] webroot");
  fs::path dir = webroot_;
  for (const char *part : {".well-known", "acme-challenge"}) {
    dir /= part;
    if (::mkdir(dir.c_str(), 0755) == 0) {
      ::chmod(dir.c_str(), 0755);
      created_dirs_.push_back(dir);
    } else if (errno != EEXIST) {
      throw AcmeError("challenge: cannot create " + dir.string() + ": " + std::strerror(errno));
    }
  }
  fs::path file = dir / token;
  try {
    write_file_atomic(file, key_authorization, 0644, false);
  } catch (const std::system_error &e) {
    throw AcmeError(std::string("challenge: cannot write the http-01 file: ") + e.what());
  }
  files_.push_back(file);
  spdlog::debug("challenge: wrote {}", file.string());
}

void WebrootResponder::stop() noexcept {
  std::lock_guard lock(mutex_);
  for (const auto &f : files_) {
    std::error_code ec;
    fs::remove(f, ec);
    if (ec) spdlog::warn("challenge: cannot remove {}: {}", f.string(), ec.message());
  }
  files_.clear();
  for (auto it = created_dirs_.rbegin(); it != created_dirs_.rend(); ++it) {
    std::error_code ec;
    fs::remove(*it, ec);   // only when empty: someone else may have put files there meanwhile
  }
  created_dirs_.clear();
}

}  // namespace certhook::acme
