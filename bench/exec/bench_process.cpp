// Where dispatch time goes: exec::run_process(/bin/true) in a loop, in this process, versus a
// bare posix_spawn+waitpid loop; with and without extra threads and heap in the parent.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "exec/process.hpp"

extern char **environ;
using Clock = std::chrono::steady_clock;

int main(int argc, char **argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 1000;
  std::vector<char> ballast(static_cast<std::size_t>(argc > 2 ? std::atoi(argv[2]) : 0) << 20, 1);
  auto t0 = Clock::now();
  for (int i = 0; i < n; ++i) {
    certhook::exec::ProcessSpec s;
    s.argv = {"/bin/true"};
    s.env = {"PATH=/usr/bin:/bin"};
    s.marker = "bench-" + std::to_string(i);
    auto r = certhook::exec::run_process(s);
    if (!r.ok()) return 1;
  }
  double ours = std::chrono::duration<double>(Clock::now() - t0).count();
  t0 = Clock::now();
  char *args[] = {const_cast<char *>("/bin/true"), nullptr};
  for (int i = 0; i < n; ++i) {
    pid_t pid;
    posix_spawn(&pid, "/bin/true", nullptr, nullptr, args, environ);
    int st;
    waitpid(pid, &st, 0);
  }
  double bare = std::chrono::duration<double>(Clock::now() - t0).count();
  std::printf("run_process: %d x /bin/true, %zu MiB ballast: %.3f ms each; posix_spawn+waitpid %.3f ms each; ratio %.2f\n",
              n, ballast.size() >> 20, ours / n * 1e3, bare / n * 1e3, ours / bare);
  return 0;
}
