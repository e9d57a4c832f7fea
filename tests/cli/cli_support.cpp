#include "cli_support.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <openssl/asn1.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <thread>

namespace certhook::test {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

nlohmann::json CliResult::json() const {
  try {
    return nlohmann::json::parse(out);
  } catch (const std::exception &e) {
    ADD_FAILURE() << "stdout is not JSON (" << e.what() << "):\n" << out << "\nstderr:\n" << err;
    return nlohmann::json::object();
  }
}

namespace {

pid_t spawn(const std::vector<std::string> &args, const fs::path &cwd, const std::vector<std::string> &env,
            const fs::path &out, const fs::path &err) {
  std::vector<std::string> argv_s = {CERTHOOK_BINARY};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char *> argv, envp;
  for (auto &a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_s = env;
  for (auto &e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int in = ::open("/dev/null", O_RDONLY);
    if (o < 0 || e < 0 || in < 0 || ::chdir(cwd.c_str()) != 0) ::_exit(127);
    ::dup2(in, 0);
    ::dup2(o, 1);
    ::dup2(e, 2);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  return pid;
}

std::string slurp(const fs::path &p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool is_zombie(const fs::path &proc) {
  std::string st = slurp(proc / "stat");
  auto close = st.rfind(')');
  return close == std::string::npos || close + 2 >= st.size() || st[close + 2] == 'Z' || st[close + 2] == 'X';
}

std::vector<pid_t> scan(const std::string &file, const std::string &needle) {
  std::vector<pid_t> out;
  std::error_code ec;
  for (auto &e : fs::directory_iterator("/proc", ec)) {
    std::string name = e.path().filename();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string all = slurp(e.path() / file);
    bool hit = false;
    for (std::size_t pos = 0; pos < all.size();) {
      std::size_t end = all.find('\0', pos);
      if (end == std::string::npos) end = all.size();
      if (all.compare(pos, end - pos, needle) == 0) hit = true;
      pos = end + 1;
    }
    if (hit && !is_zombie(e.path())) out.push_back(static_cast<pid_t>(std::stol(name)));
  }
  return out;
}

}  // namespace

CliResult Background::wait() {
  CliResult r;
  int st = 0;
  auto t0 = Clock::now();
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

CliResult run_certhook(const std::vector<std::string> &args, const fs::path &cwd,
                       const std::vector<std::string> &env) {
  TempDir io("cho");
  auto t0 = Clock::now();
  Background b{spawn(args, cwd, env, io / "out", io / "err"), io / "out", io / "err"};
  CliResult r = b.wait();
  r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return r;
}

Background start_certhook(const std::vector<std::string> &args, const fs::path &cwd,
                          const std::vector<std::string> &env, const fs::path &dir) {
  static int n = 0;
  ++n;
  fs::path out = dir / ("bg" + std::to_string(n) + ".out"), err = dir / ("bg" + std::to_string(n) + ".err");
  return Background{spawn(args, cwd, env, out, err), out, err};
}

std::vector<pid_t> processes_with_env(const std::string &needle) { return scan("environ", needle); }
std::vector<pid_t> processes_with_arg(const std::string &needle) { return scan("cmdline", needle); }

bool wait_for_file(const fs::path &path, std::chrono::seconds limit) {
  auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    if (fs::exists(path)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return fs::exists(path);
}

std::vector<std::string> read_lines(const fs::path &path) {
  std::vector<std::string> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::map<std::string, std::string> read_env_dump(const fs::path &path) {
  std::map<std::string, std::string> out;
  std::string all = slurp(path);   // written with `env -0`
  for (std::size_t pos = 0; pos < all.size();) {
    std::size_t end = all.find('\0', pos);
    if (end == std::string::npos) end = all.size();
    std::string kv = all.substr(pos, end - pos);
    auto eq = kv.find('=');
    if (eq != std::string::npos) out[kv.substr(0, eq)] = kv.substr(eq + 1);
    pos = end + 1;
  }
  return out;
}

std::string toml_string(const std::string &s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string toml_array(const std::vector<std::string> &items) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + toml_string(items[i]);
  return out + "]";
}

std::string not_after_of(const std::string &cert_pem) {
  BIO *bio = BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size()));
  X509 *x = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (!x) return "";
  std::tm tm{};
  ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm);
  X509_free(x);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string snapshot(const fs::path &dir) {
  std::vector<std::string> lines;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return "(absent)";
  for (auto &e : fs::recursive_directory_iterator(dir, ec)) {
    struct stat st {};
    ::lstat(e.path().c_str(), &st);
    lines.push_back(e.path().string() + " mode=" + std::to_string(st.st_mode) + " size=" +
                    std::to_string(st.st_size) + " mtime=" + std::to_string(st.st_mtim.tv_sec) + "." +
                    std::to_string(st.st_mtim.tv_nsec));
  }
  std::sort(lines.begin(), lines.end());
  std::string out;
  for (auto &l : lines) out += l + "\n";
  return out;
}

Scratch::Scratch() : ca(make_ca()), tmp_("chc") {
  fs::create_directories(tmp_ / "hooks.d/pre");
  fs::create_directories(tmp_ / "hooks.d/deploy");
  fs::create_directories(tmp_ / "hooks.d/post");
  fs::create_directories(tmp_ / "bin");
}

Pem Scratch::lineage(const std::string &name, const std::vector<std::string> &names) {
  LeafOptions o;
  o.names = names.empty() ? std::vector<std::string>{name + ".test"} : names;
  Pem leaf = make_leaf(ca, o);
  write_lineage(lineage_dir(name), leaf, ca);
  return leaf;
}

fs::path Scratch::script(const std::string &name, const std::string &body) {
  fs::path p = name.find('/') == std::string::npos ? tmp_ / "bin" / name : fs::path(name);
  // A new file (new inode) each time: a running shell keeps reading the old one.
  std::error_code ec;
  fs::remove(p, ec);
  write_text(p, "#!/bin/sh\n" + body, 0755);
  return p;
}

fs::path Scratch::hooks_d(const std::string &phase, const std::string &file, const std::string &body) {
  return script((tmp_ / "hooks.d" / phase / file).string(), body);
}

void Scratch::write_config(const std::string &body, int max_parallel) {
  write_text(config(), "[certhook]\n"
                       "state_dir = \"state\"\n"
                       "hooks_dir = \"hooks.d\"\n"
                       "plugin_dirs = []\n"
                       "hooks_d_timeout = \"30s\"\n"
                       "max_parallel = " + std::to_string(max_parallel) + "\n\n" + body);
}

std::vector<std::string> Scratch::base_env() const {
  return {"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8", "TZ=UTC"};
}

CliResult Scratch::run(const std::vector<std::string> &args, const std::vector<std::string> &extra_env) const {
  std::vector<std::string> a = {"--config", config().string()};
  a.insert(a.end(), args.begin(), args.end());
  auto env = base_env();
  env.insert(env.end(), extra_env.begin(), extra_env.end());
  return run_certhook(a, dir(), env);
}

Background Scratch::start(const std::vector<std::string> &args, const std::vector<std::string> &extra_env) const {
  std::vector<std::string> a = {"--config", config().string()};
  a.insert(a.end(), args.begin(), args.end());
  auto env = base_env();
  env.insert(env.end(), extra_env.begin(), extra_env.end());
  return start_certhook(a, dir(), env, dir());
}

nlohmann::json Scratch::journal(const std::string &name) const {
  std::ifstream in(state() / "journal" / (name + ".json"));
  if (!in) return nlohmann::json::object();
  return nlohmann::json::parse(in, nullptr, false);
}

std::string exec_hook(const std::string &name, const std::vector<std::string> &command,
                      const std::string &extra, const std::string &options_extra) {
  return "[[hook]]\nname = " + toml_string(name) + "\ntype = \"exec\"\n" + extra +
         "options = { command = " + toml_array(command) +
         (options_extra.empty() ? "" : ", " + options_extra) + " }\n\n";
}

std::string path_certificate(const std::string &name, const fs::path &source,
                             const std::vector<std::string> &hooks, const std::string &extra) {
  return "[[certificate]]\nname = " + toml_string(name) + "\nsource = " + toml_string(source.string()) +
         "\nhooks = " + toml_array(hooks) + "\n" + extra + "\n";
}

}  // namespace certhook::test
