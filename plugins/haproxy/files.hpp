// Files the haproxy plugin reads and writes: the combined PEM, its temp file beside the crt path,
// the crt-list line that keeps a new certificate after a reload, and the lock that serialises
// certificate transactions to one HAProxy across plugin processes.
#pragma once
#include <filesystem>
#include <stdexcept>
#include <string>

namespace certhook::haproxy {

struct FileError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// fullchain (or cert + chain) followed by the key, CRs and blank lines removed: an empty line
// would end `set ssl cert`'s payload early. Throws FileError naming the file when a part is
// missing or holds no PEM block.
std::string combined_pem(const std::string &fullchain_path, const std::string &cert_path,
                         const std::string &chain_path, const std::string &key_path);

// Parses the combined PEM with OpenSSL: the first certificate must match the private key. Used
// before a reload_command fallback, where HAProxy cannot check the pair first. Error text or "".
std::string key_mismatch(const std::string &pem);

// A 0600 file written and fsynced beside `target`; removed by the destructor unless committed.
class StagedFile {
 public:
  StagedFile(const std::filesystem::path &target, const std::string &content);
  ~StagedFile();
  StagedFile(const StagedFile &) = delete;
  StagedFile &operator=(const StagedFile &) = delete;
  // rename onto the target and fsync the directory.
  void commit();
  const std::filesystem::path &path() const { return temp_; }

 private:
  std::filesystem::path target_, temp_;
  bool done_ = false;
};

// Adds `entry` as a line of the crt-list file unless a line already names it (atomic rewrite,
// same mode). Returns true when the file changed.
bool add_crt_list_line(const std::filesystem::path &crt_list, const std::string &entry);

// An exclusive flock held for the object's lifetime. Waits up to `wait_ms`, then throws FileError
// naming the lock file.
class TransactionLock {
 public:
  TransactionLock(const std::filesystem::path &file, long wait_ms);
  ~TransactionLock();
  TransactionLock(const TransactionLock &) = delete;
  TransactionLock &operator=(const TransactionLock &) = delete;

 private:
  int fd_ = -1;
};

// Where the lock for a socket address lives: beside a Unix socket ("SOCKET.certhook.lock") when
// that directory is writable, else (and for host:port) in /run/lock (or /tmp) under a name made
// from the address.
std::filesystem::path lock_path_for(const std::string &socket_address);

}  // namespace certhook::haproxy
