#include "plan/plan.hpp"

#include <algorithm>
#include <map>
#include <queue>
#include <unordered_map>

namespace certhook {

HookOrder::HookOrder(const Config &config) {
  const std::size_t n = config.hooks.size();
  for (std::size_t i = 0; i < n; ++i) index_.emplace_back(config.hooks[i].name, i);
  std::sort(index_.begin(), index_.end());
  auto lookup = [&](const std::string &name) -> long {
    auto it = std::lower_bound(index_.begin(), index_.end(), std::make_pair(name, std::size_t{0}));
    return it != index_.end() && it->first == name ? static_cast<long>(it->second) : -1;
  };
  // Edges: after = [b] means b -> this; before = [b] means this -> b. Unknown names were already
  // reported by the config loader; here they are ignored.
  std::vector<std::vector<std::size_t>> next(n);
  std::vector<int> indegree(n, 0);
  auto edge = [&](long from, long to) {
    if (from < 0 || to < 0 || from == to) return;
    next[static_cast<std::size_t>(from)].push_back(static_cast<std::size_t>(to));
    ++indegree[static_cast<std::size_t>(to)];
  };
  for (std::size_t i = 0; i < n; ++i) {
    for (const auto &a : config.hooks[i].after) edge(lookup(a), static_cast<long>(i));
    for (const auto &b : config.hooks[i].before) edge(static_cast<long>(i), lookup(b));
  }
  // Kahn's algorithm with a name-ordered queue: ties broken by name. A cycle (reported by the
  // config loader as fatal) leaves its members out of the order; they are appended by name.
  auto by_name = [&](std::size_t a, std::size_t b) { return config.hooks[a].name > config.hooks[b].name; };
  std::priority_queue<std::size_t, std::vector<std::size_t>, decltype(by_name)> ready(by_name);
  for (std::size_t i = 0; i < n; ++i)
    if (indegree[i] == 0) ready.push(i);
  std::vector<std::size_t> order;
  std::vector<bool> placed(n, false);
  while (!ready.empty()) {
    std::size_t i = ready.top();
    ready.pop();
    order.push_back(i);
    placed[i] = true;
    for (std::size_t j : next[i])
      if (--indegree[j] == 0) ready.push(j);
  }
  for (const auto &[name, i] : index_)
    if (!placed[i]) order.push_back(i);
  // Reachability (transitive closure) by walking the order backwards.
  reach_.assign(n, std::vector<bool>(n, false));
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    for (std::size_t j : next[*it]) {
      if (reach_[*it][j]) continue;
      reach_[*it][j] = true;
      for (std::size_t k = 0; k < n; ++k)
        if (reach_[j][k]) reach_[*it][k] = true;
    }
  }
  for (std::size_t i : order) sequence_.push_back(config.hooks[i].name);
}

std::vector<std::size_t> HookOrder::index_of(const std::string &name) const {
  auto it = std::lower_bound(index_.begin(), index_.end(), std::make_pair(name, std::size_t{0}));
  if (it != index_.end() && it->first == name) return {it->second};
  return {};
}

bool HookOrder::precedes(const std::string &a, const std::string &b) const {
  auto ia = index_of(a), ib = index_of(b);
  return !ia.empty() && !ib.empty() && reach_[ia[0]][ib[0]];
}

Plan build_plan(const PlanInput &in) {
  Plan plan;
  const Config &config = *in.config;
  HookOrder order(config);
  auto included = [&](const std::string &cert, const std::string &hook) {
    return !in.include || in.include(cert, hook);
  };
  // The node that runs (certificate, hook), once created.
  std::map<std::pair<std::string, std::string>, std::size_t> node_of;
  // Which hooks each certificate enables, restricted to configured ones.
  std::unordered_map<std::string, std::vector<std::string>> enabled;
  for (const auto *c : in.certificates)
    for (const auto &h : c->hooks)
      if (config.find_hook(h)) enabled[c->name].push_back(h);

  auto predecessors = [&](const std::string &cert, const std::string &hook) {
    std::vector<std::size_t> deps;
    for (const auto &g : enabled[cert]) {
      if (!order.precedes(g, hook)) continue;
      if (auto it = node_of.find({cert, g}); it != node_of.end()) deps.push_back(it->second);
    }
    return deps;
  };
  auto add = [&](PlanNode node) {
    std::sort(node.after.begin(), node.after.end());
    node.after.erase(std::unique(node.after.begin(), node.after.end()), node.after.end());
    plan.nodes.push_back(std::move(node));
    return plan.nodes.size() - 1;
  };

  for (const auto &hook_name : order.sequence()) {
    const HookConfig *hook = config.find_hook(hook_name);
    bool batching = in.is_batching && in.is_batching(*hook);
    std::vector<const CertificateConfig *> users;
    for (const auto *c : in.certificates) {
      const auto &e = enabled[c->name];
      if (std::find(e.begin(), e.end(), hook_name) != e.end() && included(c->name, hook_name))
        users.push_back(c);
    }
    if (users.empty()) continue;
    if (batching) {
      PlanNode node{hook_name, hook, {}, true, {}, {}};
      for (const auto *c : users) {
        node.certificates.push_back(c->name);
        auto deps = predecessors(c->name, hook_name);
        node.after.insert(node.after.end(), deps.begin(), deps.end());
      }
      std::size_t id = add(std::move(node));
      for (const auto *c : users) node_of[{c->name, hook_name}] = id;
    } else {
      for (const auto *c : users) {
        std::size_t id = add(PlanNode{hook_name, hook, {}, false, {c->name}, predecessors(c->name, hook_name)});
        node_of[{c->name, hook_name}] = id;
      }
    }
  }
  // hooks.d deploy scripts: after every configured hook of the certificate, one after another.
  for (const auto *c : in.certificates) {
    if (!c->hooks_d) continue;
    std::vector<std::size_t> deps;
    for (const auto &h : enabled[c->name])
      if (auto it = node_of.find({c->name, h}); it != node_of.end()) deps.push_back(it->second);
    for (const auto &script : in.hooks_d_deploy) {
      if (!included(c->name, script.key)) continue;
      std::size_t id = add(PlanNode{script.key, nullptr, script.path, false, {c->name}, deps});
      deps = {id};
    }
  }
  return plan;
}

std::vector<std::vector<std::size_t>> certificate_stages(const Plan &plan, const std::string &certificate) {
  std::vector<int> depth(plan.nodes.size(), -1);
  std::vector<std::vector<std::size_t>> stages;
  for (std::size_t i = 0; i < plan.nodes.size(); ++i) {
    const auto &node = plan.nodes[i];
    if (std::find(node.certificates.begin(), node.certificates.end(), certificate) == node.certificates.end())
      continue;
    int d = 0;
    for (std::size_t dep : node.after)
      if (depth[dep] >= 0) d = std::max(d, depth[dep] + 1);
    depth[i] = d;
    if (stages.size() <= static_cast<std::size_t>(d)) stages.resize(static_cast<std::size_t>(d) + 1);
    stages[static_cast<std::size_t>(d)].push_back(i);
  }
  return stages;
}

}  // namespace certhook
