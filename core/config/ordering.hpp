// Ordering cycles among hooks (after/before), found once per strongly connected component.
#pragma once
#include <cstddef>
#include <vector>

namespace certhook {

struct OrderingEdge {
  std::size_t from, to;   // `from` must run before `to`
};

// Each cycle as node indices [a, b, ..., a]: a shortest cycle through the lowest-numbered node of
// each strongly connected component that has one (a self-edge is the cycle [a, a]).
// Cycles are returned in order of their first node.
std::vector<std::vector<std::size_t>> find_cycles(std::size_t nodes,
                                                  const std::vector<OrderingEdge> &edges);

}  // namespace certhook
