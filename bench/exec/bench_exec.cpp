// Benchmarks of the executor through the built certhook binary (not part of the test suite):
//   dispatch  [reps]          1,000 no-op exec hooks (100 certificates x 10 hooks of /bin/true,
//                             max_parallel = 1) via `certhook run` vs a bare posix_spawn+waitpid loop
//   idle      [N...]          N certificates, all deployed: `certhook run` again (wall, peak RSS)
//   parallel  [reps]          32 independent `sleep 0.2` hooks at max_parallel = 8
// Results are printed one per line; docs/benchmarks.md records them.
#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "tempdir.hpp"
#include "testcerts.hpp"

extern char **environ;

namespace fs = std::filesystem;
using certhook::test::TempDir;
using certhook::test::write_text;
using Clock = std::chrono::steady_clock;

namespace {

struct Measure {
  double seconds = 0;
  double cpu = 0;   // user + system of the process and the children it waited for
  long max_rss_kib = 0;
  int status = -1;
};

Measure spawn_and_wait(const std::vector<std::string> &args) {
  std::vector<char *> argv;
  std::vector<std::string> copy = args;
  for (auto &a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  Measure m;
  auto t0 = Clock::now();
  pid_t pid;
  if (posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ) != 0) return m;
  int st = 0;
  rusage ru{};
  ::wait4(pid, &st, 0, &ru);
  m.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  m.max_rss_kib = ru.ru_maxrss;
  m.cpu = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
          static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  m.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  posix_spawn_file_actions_destroy(&fa);
  return m;
}

double children_cpu() {
  rusage ru{};
  ::getrusage(RUSAGE_CHILDREN, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

std::string header(int max_parallel) {
  return "[certhook]\nstate_dir = \"state\"\nhooks_dir = \"hooks.d\"\nplugin_dirs = []\nmax_parallel = " +
         std::to_string(max_parallel) + "\n\n";
}

// N lineages under dir/lineages (one CA); certificate i uses lineage i.
void make_lineages(const fs::path &dir, int n) {
  auto ca = certhook::test::make_ca();
  for (int i = 0; i < n; ++i) {
    certhook::test::LeafOptions o;
    o.names = {"c" + std::to_string(i) + ".test"};
    certhook::test::write_lineage(dir / "lineages" / ("c" + std::to_string(i)), certhook::test::make_leaf(ca, o), ca);
  }
}

Measure certhook_run(const fs::path &config) {
  return spawn_and_wait({CERTHOOK_BINARY, "-q", "--config", config.string(), "run"});
}

int dispatch(int reps) {
  TempDir dir("chb");
  make_lineages(dir.path(), 100);
  std::string cfg = header(1);
  for (int h = 0; h < 10; ++h)
    cfg += "[[hook]]\nname = \"h" + std::to_string(h) + "\"\ntype = \"exec\"\noptions = { command = [\"/bin/true\"] }\n\n";
  for (int i = 0; i < 100; ++i) {
    cfg += "[[certificate]]\nname = \"c" + std::to_string(i) + "\"\nsource = \"" +
           (dir.path() / "lineages" / ("c" + std::to_string(i))).string() + "\"\nhooks = [";
    for (int h = 0; h < 10; ++h) cfg += (h ? ", \"h" : "\"h") + std::to_string(h) + "\"";
    cfg += "]\n\n";
  }
  write_text(dir / "certhook.toml", cfg);
  std::vector<double> ours, bare, ours_cpu, bare_cpu;
  for (int r = 0; r < reps; ++r) {
    fs::remove_all(dir / "state");
    Measure m = certhook_run(dir / "certhook.toml");
    if (m.status != 0) {
      std::fprintf(stderr, "certhook run failed (%d)\n", m.status);
      return 1;
    }
    ours.push_back(m.seconds);
    ours_cpu.push_back(m.cpu);
    double cpu0 = children_cpu();
    auto t0 = Clock::now();
    for (int i = 0; i < 1000; ++i) spawn_and_wait({"/bin/true"});
    bare.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
    bare_cpu.push_back(children_cpu() - cpu0);
    std::printf("dispatch rep %d: certhook %.3f s (cpu %.3f s), bare %.3f s (cpu %.3f s, children only)\n", r + 1,
                ours.back(), ours_cpu.back(), bare.back(), bare_cpu.back());
  }
  double o = median(ours), b = median(bare), oc = median(ours_cpu), bc = median(bare_cpu);
  std::printf("dispatch: 1000 hooks, median of %d: certhook run %.3f s (%.2f ms/hook), "
              "posix_spawn+waitpid %.3f s (%.2f ms/spawn), wall ratio %.2f (target <= 1.5); "
              "cpu %.3f s vs %.3f s, cpu ratio %.2f\n",
              reps, o, o, b, b, o / b, oc, bc, oc / bc);
  return 0;
}

int idle(const std::vector<int> &sizes, int reps) {
  for (int n : sizes) {
    TempDir dir("chb");
    make_lineages(dir.path(), n);
    std::string cfg = header(8);
    cfg += "[[hook]]\nname = \"noop\"\ntype = \"exec\"\noptions = { command = [\"/bin/true\"] }\n\n";
    for (int i = 0; i < n; ++i)
      cfg += "[[certificate]]\nname = \"c" + std::to_string(i) + "\"\nsource = \"" +
             (dir.path() / "lineages" / ("c" + std::to_string(i))).string() + "\"\nhooks = [\"noop\"]\n\n";
    write_text(dir / "certhook.toml", cfg);
    Measure first = certhook_run(dir / "certhook.toml");
    if (first.status != 0) {
      std::fprintf(stderr, "first run failed (%d)\n", first.status);
      return 1;
    }
    std::vector<double> walls, cpus;
    long rss = 0;
    for (int r = 0; r < reps; ++r) {
      Measure m = certhook_run(dir / "certhook.toml");
      walls.push_back(m.seconds);
      cpus.push_back(m.cpu);
      rss = std::max(rss, m.max_rss_kib);
    }
    std::printf("idle: %5d certificates: first run (deploys all) %.2f s; nothing to do: median %.3f s wall, "
                "%.3f s cpu (%.1f us/certificate), peak RSS %.1f MiB\n",
                n, first.seconds, median(walls), median(cpus), median(walls) / n * 1e6,
                static_cast<double>(rss) / 1024.0);
    std::fflush(stdout);
  }
  return 0;
}

int parallel(int reps) {
  TempDir dir("chb");
  make_lineages(dir.path(), 1);
  std::string cfg = header(8);
  std::string hooks;
  for (int h = 0; h < 32; ++h) {
    cfg += "[[hook]]\nname = \"s" + std::to_string(h) + "\"\ntype = \"exec\"\noptions = { command = [\"/bin/sleep\", \"0.2\"] }\n\n";
    hooks += (h ? ", \"s" : "\"s") + std::to_string(h) + "\"";
  }
  cfg += "[[certificate]]\nname = \"c0\"\nsource = \"" + (dir.path() / "lineages/c0").string() + "\"\nhooks = [" + hooks + "]\n";
  write_text(dir / "certhook.toml", cfg);
  std::vector<double> walls;
  for (int r = 0; r < reps; ++r) {
    fs::remove_all(dir / "state");
    Measure m = certhook_run(dir / "certhook.toml");
    if (m.status != 0) return 1;
    walls.push_back(m.seconds);
    std::printf("parallel rep %d: %.3f s\n", r + 1, m.seconds);
  }
  std::printf("parallel: 32 x sleep 0.2 at max_parallel = 8: median %.3f s (ideal 0.800 s, target <= 0.960 s)\n",
              median(walls));
  return 0;
}

}  // namespace

int main(int argc, char **argv) {
  std::string what = argc > 1 ? argv[1] : "";
  if (what == "dispatch") return dispatch(argc > 2 ? std::atoi(argv[2]) : 5);
  if (what == "parallel") return parallel(argc > 2 ? std::atoi(argv[2]) : 5);
  if (what == "idle") {
    std::vector<int> sizes;
    for (int i = 2; i < argc; ++i) sizes.push_back(std::atoi(argv[i]));
    if (sizes.empty()) sizes = {1000, 5000, 10000};
    return idle(sizes, 3);
  }
  std::fprintf(stderr, "usage: %s dispatch [reps] | idle [N...] | parallel [reps]\n", argv[0]);
  return 2;
}
