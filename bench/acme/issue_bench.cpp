// Wall time of one issuance (directory .. store) against a local Pebble with its default 5% nonce
// rejection and no validation sleep; prints each run and the median.
// Usage: bench_acme_issue [runs=5] [nonce_reject_percent=5]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "acme/issue.hpp"
#include "pebble.hpp"
#include "tempdir.hpp"

using namespace certhook;

int main(int argc, char **argv) {
  int runs = argc > 1 ? std::atoi(argv[1]) : 5;
  int reject = argc > 2 ? std::atoi(argv[2]) : 5;
  test::PebbleOptions po;
  po.nonce_reject_percent = reject;
  test::Pebble pebble(po);
  test::TempDir state{"bn"};
  std::vector<double> ms;
  for (int i = 0; i < runs; ++i) {
    IssueRequest r;
    r.name = "bench";
    r.domains = {"bench" + std::to_string(i) + ".certhook.test"};   // fresh name: no authz reuse
    r.acme.directory = pebble.directory_url();
    r.acme.ca_bundle = pebble.ca_bundle();
    r.challenge.listen = "127.0.0.1:" + std::to_string(pebble.http_port());
    r.state_dir = state.path();
    auto t0 = std::chrono::steady_clock::now();
    IssueOutcome out = issue_certificate(r);
    auto t1 = std::chrono::steady_clock::now();
    if (!out.ok) {
      std::fprintf(stderr, "bench: issuance failed: %s\n", out.error.c_str());
      return 1;
    }
    ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    std::printf("run %d: %.1f ms%s\n", i + 1, ms.back(), i == 0 ? " (includes account creation)" : "");
  }
  std::vector<double> sorted = ms;
  std::sort(sorted.begin(), sorted.end());
  std::printf("median of %d: %.1f ms (nonce rejection %d%%)\n", runs, sorted[sorted.size() / 2], reject);
  return 0;
}
