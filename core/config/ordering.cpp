#include "config/ordering.hpp"

#include <algorithm>
#include <deque>
#include <functional>

namespace certhook {

std::vector<std::vector<std::size_t>> find_cycles(std::size_t nodes,
                                                  const std::vector<OrderingEdge> &edges) {
  std::vector<std::vector<std::size_t>> next(nodes);
  for (const auto &e : edges) next[e.from].push_back(e.to);
  for (auto &n : next) {
    std::sort(n.begin(), n.end());
    n.erase(std::unique(n.begin(), n.end()), n.end());
  }

  // Tarjan's strongly connected components (hook counts are small: recursion is fine).
  constexpr std::size_t unset = static_cast<std::size_t>(-1);
  std::vector<std::size_t> index(nodes, unset), low(nodes, 0), component(nodes, unset);
  std::vector<bool> on_stack(nodes, false);
  std::vector<std::size_t> stack;
  std::size_t counter = 0, components = 0;
  std::function<void(std::size_t)> visit = [&](std::size_t v) {
    index[v] = low[v] = counter++;
    stack.push_back(v);
    on_stack[v] = true;
    for (std::size_t w : next[v]) {
      if (index[w] == unset) {
        visit(w);
        low[v] = std::min(low[v], low[w]);
      } else if (on_stack[w]) {
        low[v] = std::min(low[v], index[w]);
      }
    }
    if (low[v] == index[v]) {
      std::size_t w;
      do {
        w = stack.back();
        stack.pop_back();
        on_stack[w] = false;
        component[w] = components;
      } while (w != v);
      ++components;
    }
  };
  for (std::size_t v = 0; v < nodes; ++v)
    if (index[v] == unset) visit(v);

  std::vector<std::size_t> size(components, 0);
  for (std::size_t v = 0; v < nodes; ++v) ++size[component[v]];

  std::vector<std::vector<std::size_t>> cycles;
  std::vector<bool> done(components, false);
  for (std::size_t start = 0; start < nodes; ++start) {
    std::size_t c = component[start];
    if (done[c]) continue;
    bool self = std::binary_search(next[start].begin(), next[start].end(), start);
    if (size[c] < 2 && !self) continue;
    done[c] = true;
    if (self) {
      cycles.push_back({start, start});
      continue;
    }
    // Shortest path start -> ... -> start inside the component (breadth first).
    std::vector<std::size_t> parent(nodes, unset);
    std::deque<std::size_t> queue{start};
    std::size_t last = unset;
    while (!queue.empty() && last == unset) {
      std::size_t v = queue.front();
      queue.pop_front();
      for (std::size_t w : next[v]) {
        if (component[w] != c) continue;
        if (w == start) { last = v; break; }
        if (parent[w] == unset) {
          parent[w] = v;
          queue.push_back(w);
        }
      }
    }
    std::vector<std::size_t> path{start};
    for (std::size_t v = last; v != start; v = parent[v]) path.push_back(v);
    std::reverse(path.begin() + 1, path.end());
    path.push_back(start);
    cycles.push_back(std::move(path));
  }
  return cycles;
}

}  // namespace certhook
