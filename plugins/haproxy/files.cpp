#include "files.hpp"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

namespace certhook::haproxy {
namespace {

namespace fs = std::filesystem;

std::string errno_text() { return std::strerror(errno); }

std::string read_whole(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw FileError(path + ": cannot read: " + errno_text());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Lines without CRs, blank lines dropped, each ending in '\n'.
std::string normalized(const std::string &text) {
  std::string out, line;
  std::istringstream in(text);
  while (std::getline(in, line)) {
    std::string clean;
    for (char c : line)
      if (c != '\r') clean += c;
    if (clean.find_first_not_of(" \t") == std::string::npos) continue;
    out += clean;
    out += '\n';
  }
  return out;
}

void require_block(const std::string &path, const std::string &text, const char *marker,
                   const char *what) {
  if (text.find(marker) == std::string::npos)
    throw FileError(path + ": holds no " + what + " (no \"" + marker + "\" line)");
}

void write_all(int fd, const std::string &content, const fs::path &path) {
  std::size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw FileError(path.string() + ": write failed: " + errno_text());
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) throw FileError(path.string() + ": fsync failed: " + errno_text());
}

void sync_dir(const fs::path &dir) {
  int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

// mkstemp beside `target`: ".NAME.certhook-XXXXXX" (a leading dot keeps it out of HAProxy's
// directory loading).
int make_temp_beside(const fs::path &target, fs::path &temp) {
  std::string tmpl = (target.parent_path() / ("." + target.filename().string() + ".certhook-XXXXXX")).string();
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  int fd = ::mkostemp(buf.data(), O_CLOEXEC);
  if (fd < 0)
    throw FileError(target.string() + ": cannot create a temp file in " +
                    target.parent_path().string() + ": " + errno_text() +
                    " (the directory must exist and be writable)");
  temp = buf.data();
  return fd;
}

}  // namespace

std::string combined_pem(const std::string &fullchain_path, const std::string &cert_path,
                         const std::string &chain_path, const std::string &key_path) {
  std::string chain;
  std::string chain_source;
  if (!fullchain_path.empty() && fs::exists(fullchain_path)) {
    chain = read_whole(fullchain_path);
    chain_source = fullchain_path;
  } else {
    if (cert_path.empty()) throw FileError("the deploy event names no cert_path or fullchain_path");
    chain = read_whole(cert_path);
    if (!chain.empty() && chain.back() != '\n') chain += '\n';
    if (!chain_path.empty() && fs::exists(chain_path)) chain += read_whole(chain_path);
    chain_source = cert_path;
  }
  if (key_path.empty()) throw FileError("the deploy event names no key_path");
  std::string key = read_whole(key_path);
  require_block(chain_source, chain, "-----BEGIN CERTIFICATE-----", "certificate");
  require_block(key_path, key, "PRIVATE KEY-----", "private key");
  return normalized(chain) + normalized(key);
}

std::string key_mismatch(const std::string &pem) {
  BIO *bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (!bio) return "out of memory";
  X509 *cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY *key = bio ? PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr) : nullptr;
  if (bio) BIO_free(bio);
  std::string why;
  if (!cert) why = "the certificate cannot be parsed";
  else if (!key) why = "the private key cannot be parsed";
  else if (X509_check_private_key(cert, key) != 1) why = "the private key does not match the certificate";
  X509_free(cert);
  EVP_PKEY_free(key);
  ERR_clear_error();
  return why;
}

StagedFile::StagedFile(const fs::path &target, const std::string &content) : target_(target) {
  int fd = make_temp_beside(target, temp_);
  try {
    if (::fchmod(fd, 0600) != 0) throw FileError(temp_.string() + ": chmod failed: " + errno_text());
    write_all(fd, content, temp_);
  } catch (...) {
    ::close(fd);
    ::unlink(temp_.c_str());
    throw;
  }
  ::close(fd);
}

StagedFile::~StagedFile() {
  if (!done_) ::unlink(temp_.c_str());
}

void StagedFile::commit() {
  if (::rename(temp_.c_str(), target_.c_str()) != 0)
    throw FileError(target_.string() + ": cannot replace it with " + temp_.string() + ": " +
                    errno_text());
  done_ = true;
  sync_dir(target_.parent_path());
}

bool add_crt_list_line(const fs::path &crt_list, const std::string &entry) {
  std::string text = read_whole(crt_list.string());
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string first;
    words >> first;
    if (first == entry) return false;
  }
  if (!text.empty() && text.back() != '\n') text += '\n';
  text += entry + '\n';
  struct stat st {};
  mode_t mode = ::stat(crt_list.c_str(), &st) == 0 ? (st.st_mode & 07777) : 0644;
  fs::path temp;
  int fd = make_temp_beside(crt_list, temp);
  try {
    if (::fchmod(fd, mode) != 0) throw FileError(temp.string() + ": chmod failed: " + errno_text());
    write_all(fd, text, temp);
  } catch (...) {
    ::close(fd);
    ::unlink(temp.c_str());
    throw;
  }
  ::close(fd);
  if (::rename(temp.c_str(), crt_list.c_str()) != 0) {
    std::string why = errno_text();
    ::unlink(temp.c_str());
    throw FileError(crt_list.string() + ": cannot replace it: " + why);
  }
  sync_dir(crt_list.parent_path());
  return true;
}

TransactionLock::TransactionLock(const fs::path &file, long wait_ms) {
  fd_ = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd_ < 0)
    throw FileError(file.string() + ": cannot open the transaction lock: " + errno_text());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  while (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR) {
      std::string why = errno_text();
      ::close(fd_);
      throw FileError(file.string() + ": flock failed: " + why);
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      ::close(fd_);
      throw FileError(file.string() + ": another certhook deploy to this HAProxy held the lock for " +
                      std::to_string(wait_ms / 1000) + " s; try again later");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

TransactionLock::~TransactionLock() {
  if (fd_ >= 0) ::close(fd_);   // closing releases the flock
}

fs::path lock_path_for(const std::string &socket_address) {
  std::string a = socket_address;
  if (a.rfind("unix@", 0) == 0) a = a.substr(5);
  const bool unix_socket = !a.empty() && (a[0] == '/' || a.find(':') == std::string::npos);
  if (unix_socket) {
    fs::path dir = fs::path(a).parent_path();
    if (::access(dir.empty() ? "." : dir.c_str(), W_OK) == 0) return a + ".certhook.lock";
  }
  std::string safe;
  for (char c : a) safe += (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-') ? c : '_';
  fs::path dir = fs::is_directory("/run/lock") ? "/run/lock" : "/tmp";
  return dir / ("certhook-haproxy-" + safe + ".lock");
}

}  // namespace certhook::haproxy
