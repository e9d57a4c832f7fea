// Per-call overhead of a no-op plugin through certhook-plugin-host versus a no-op exec hook
// (/bin/true), measured side by side in one run: both spawned with posix_spawn + waitpid,
// stdin/stdout/stderr on /dev/null, interleaved in blocks so that machine noise hits both.
//   bench_plugin_overhead [CALLS]     (default 500 each)
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

extern char **environ;

namespace {

using Clock = std::chrono::steady_clock;

double spawn_wait_us(const std::vector<std::string> &argv) {
  std::vector<char *> args;
  for (const auto &a : argv) args.push_back(const_cast<char *>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  for (int fd = 0; fd <= 2; ++fd) posix_spawn_file_actions_addopen(&fa, fd, "/dev/null", fd ? O_WRONLY : O_RDONLY, 0);
  auto start = Clock::now();
  pid_t pid;
  if (posix_spawn(&pid, args[0], &fa, nullptr, args.data(), environ) != 0) {
    std::fprintf(stderr, "bench: cannot run %s\n", args[0]);
    std::exit(1);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  auto us = std::chrono::duration<double, std::micro>(Clock::now() - start).count();
  posix_spawn_file_actions_destroy(&fa);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "bench: %s failed (status %d)\n", args[0], status);
    std::exit(1);
  }
  return us;
}

struct Stats {
  double mean, median, p95;
};
Stats stats(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  double sum = 0;
  for (double x : v) sum += x;
  return {sum / v.size(), v[v.size() / 2], v[v.size() * 95 / 100]};
}

}  // namespace

int main(int argc, char **argv) {
  const int calls = argc > 1 ? std::atoi(argv[1]) : 500;
  const std::string host = CERTHOOK_PLUGIN_HOST_BINARY, plugin = NOOP_PLUGIN;
  char tmpl[] = "/tmp/chbench.XXXXXX";
  const std::filesystem::path dir = mkdtemp(tmpl);
  const auto request = dir / "request.json", result = dir / "result.json";
  std::ofstream(request) << R"({"hook":"noop","options":{},"attempt":1,"dry_run":false,"certificates":[)"
                            R"({"name":"example.com","domains":["example.com"],"lineage":"/x","cert_path":"/x/cert.pem",)"
                            R"("key_path":"/x/privkey.pem","chain_path":"/x/chain.pem","fullchain_path":"/x/fullchain.pem",)"
                            R"("fingerprint":"00","not_after":"2027-01-01T00:00:00Z","reason":"renewed"}]})";
  const std::vector<std::string> exec_argv = {"/bin/true"};
  const std::vector<std::string> plugin_argv = {host, "call", plugin, "deploy", request.string(), result.string()};
  const std::vector<std::string> cpp_argv = {host, "call", NOOP_CPP_PLUGIN, "deploy", request.string(), result.string()};
  // Breakdown: the host loading the plugin and printing its descriptor, without request/result files.
  const std::vector<std::string> describe_argv = {host, "describe", plugin};
  // Warm up both (page cache, dynamic loader caches).
  for (int i = 0; i < 20; ++i) {
    spawn_wait_us(exec_argv);
    spawn_wait_us(plugin_argv);
    spawn_wait_us(cpp_argv);
  }
  std::vector<double> exec_us, plugin_us, describe_us, cpp_us;
  const int block = 25;
  for (int done = 0; done < calls; done += block) {
    for (int i = 0; i < block && done + i < calls; ++i) exec_us.push_back(spawn_wait_us(exec_argv));
    for (int i = 0; i < block && done + i < calls; ++i) plugin_us.push_back(spawn_wait_us(plugin_argv));
    for (int i = 0; i < block && done + i < calls; ++i) describe_us.push_back(spawn_wait_us(describe_argv));
    for (int i = 0; i < block && done + i < calls; ++i) cpp_us.push_back(spawn_wait_us(cpp_argv));
  }
  std::filesystem::remove_all(dir);
  Stats e = stats(exec_us), p = stats(plugin_us), d = stats(describe_us), c = stats(cpp_us);
  std::printf("calls per kind:        %d\n", calls);
  std::printf("exec /bin/true:        mean %8.1f us  median %8.1f us  p95 %8.1f us\n", e.mean, e.median, e.p95);
  std::printf("plugin host (noop.so): mean %8.1f us  median %8.1f us  p95 %8.1f us\n", p.mean, p.median, p.p95);
  std::printf("  of which describe:    mean %8.1f us  median %8.1f us  p95 %8.1f us\n", d.mean, d.median, d.p95);
  std::printf("plugin host (C++ noop): mean %7.1f us  median %8.1f us  p95 %8.1f us\n", c.mean, c.median, c.p95);
  std::printf("ratio plugin/exec:     mean %.2fx  median %.2fx  (target <= 3x)\n", p.mean / e.mean, p.median / e.median);
  std::printf("ratio C++ plugin/exec: mean %.2fx  median %.2fx\n", c.mean / e.mean, c.median / e.median);
  return 0;
}
