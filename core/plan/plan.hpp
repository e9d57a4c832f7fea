// One plan per run (DESIGN §6): all deploy work as one graph. Per certificate, its enabled hooks in
// after/before order (ties broken by name), then its hooks.d deploy scripts in lexical order; a
// batching plugin hook is a single node that waits for every certificate's predecessors and
// receives all of them.
#pragma once
#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace certhook {

struct HooksDScript {
  std::string key;                 // "hooks.d/deploy/<file>": the journal key
  std::filesystem::path path;
};

struct PlanNode {
  std::string hook;                // configured hook name, or a hooks.d key
  const HookConfig *config = nullptr;   // null for hooks.d scripts
  std::filesystem::path script;    // hooks.d scripts
  bool batching = false;
  std::vector<std::string> certificates;   // one, or every certificate of a batching hook
  std::vector<std::size_t> after;  // nodes that must finish first; always lower indices
};

struct Plan {
  std::vector<PlanNode> nodes;     // a topological order
};

struct PlanInput {
  const Config *config = nullptr;
  std::vector<const CertificateConfig *> certificates;   // the certificates in scope
  std::vector<HooksDScript> hooks_d_deploy;              // for certificates with hooks_d = true
  std::function<bool(const HookConfig &)> is_batching;   // null: nothing batches
  // Whether (certificate, hook key) belongs in this plan (e.g. only pending ones); null: all.
  std::function<bool(const std::string &certificate, const std::string &hook)> include;
};

Plan build_plan(const PlanInput &in);

// The hooks ordered before `hook` by after/before, transitively (through hooks that a given
// certificate may not enable), so that ordering holds whatever subset a certificate enables.
class HookOrder {
 public:
  explicit HookOrder(const Config &config);
  bool precedes(const std::string &a, const std::string &b) const;   // a must run before b
  // Every configured hook in an order compatible with after/before; ties by name.
  const std::vector<std::string> &sequence() const { return sequence_; }

 private:
  std::vector<std::string> sequence_;
  std::vector<std::vector<bool>> reach_;   // reach_[i][j]: hook i runs before hook j
  std::vector<std::size_t> index_of(const std::string &name) const;
  std::vector<std::pair<std::string, std::size_t>> index_;   // sorted by name
};

// Display stages for one certificate: nodes grouped by depth within that certificate.
std::vector<std::vector<std::size_t>> certificate_stages(const Plan &plan, const std::string &certificate);

}  // namespace certhook
