// Per-call overhead of a no-op plugin through certhook-plugin-host versus a no-op exec hook
// (/bin/true), measured side by side in one run: both spawned with posix_spawn + waitpid,
// stdin/stdout/stderr on /dev/null, interleaved in blocks so that machine noise hits both.
//   bench_plugin_overhead [CALLS]     (default 500 each)
#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
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

struct Sample {
  double wall_us;   // spawn to reaped, as certhook's executor sees it
  double cpu_us;    // the child's user + system time (wait4): far less sensitive to machine load
};

Sample spawn_wait(const std::vector<std::string> &argv) {
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
  struct rusage ru {};
  wait4(pid, &status, 0, &ru);
  auto us = std::chrono::duration<double, std::micro>(Clock::now() - start).count();
  auto tv_us = [](const timeval &t) { return t.tv_sec * 1e6 + t.tv_usec; };
  posix_spawn_file_actions_destroy(&fa);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "bench: %s failed (status %d)\n", args[0], status);
    std::exit(1);
  }
  return {us, tv_us(ru.ru_utime) + tv_us(ru.ru_stime)};
}

struct Series {
  std::vector<double> wall, cpu;
  void add(const Sample &s) {
    wall.push_back(s.wall_us);
    cpu.push_back(s.cpu_us);
  }
};

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
  struct Kind {
    const char *label;
    std::vector<std::string> argv;
    Series series;
  };
  std::vector<Kind> kinds = {
      {"exec /bin/true", exec_argv, {}},
      {"plugin host, C noop", plugin_argv, {}},
      {"  of which describe", describe_argv, {}},
      {"plugin host, C++ noop", cpp_argv, {}},
  };
  for (int i = 0; i < 20; ++i)  // warm up (page cache, loader caches)
    for (auto &k : kinds) spawn_wait(k.argv);
  const int block = 25;   // interleaved in blocks so that machine noise hits every kind
  for (int done = 0; done < calls; done += block)
    for (auto &k : kinds)
      for (int i = 0; i < block && done + i < calls; ++i) k.series.add(spawn_wait(k.argv));
  std::filesystem::remove_all(dir);

  std::printf("calls per kind: %d\n", calls);
  std::printf("%-24s %12s %12s %12s %12s\n", "", "wall mean", "wall median", "wall p95", "cpu median");
  std::vector<Stats> wall, cpu;
  for (auto &k : kinds) {
    wall.push_back(stats(k.series.wall));
    cpu.push_back(stats(k.series.cpu));
    std::printf("%-24s %9.0f us %9.0f us %9.0f us %9.0f us\n", k.label, wall.back().mean, wall.back().median,
                wall.back().p95, cpu.back().median);
  }
  std::printf("ratio C noop plugin / exec:   wall median %.2fx  cpu median %.2fx  (target <= 3x)\n",
              wall[1].median / wall[0].median, cpu[1].median / cpu[0].median);
  std::printf("ratio C++ noop plugin / exec: wall median %.2fx  cpu median %.2fx\n",
              wall[3].median / wall[0].median, cpu[3].median / cpu[0].median);
  return 0;
}
