// The one-plan-per-run graph: ordering, ties, transitivity, batching nodes, hooks.d scripts.
#include <gtest/gtest.h>

#include <algorithm>

#include "plan/plan.hpp"

using namespace certhook;

namespace {

Config load(const std::string &toml) {
  LoadResult r = load_config_string(toml, "/etc/certhook/certhook.toml");
  EXPECT_TRUE(r.fatal.empty()) << (r.fatal.empty() ? "" : r.fatal[0].to_string());
  return std::move(*r.config);
}

std::string exec_hook(const std::string &name, const std::string &extra = "") {
  return "[[hook]]\nname = \"" + name + "\"\ntype = \"exec\"\n" + extra +
         "options = { command = [\"/bin/true\"] }\n";
}

std::vector<const CertificateConfig *> all(const Config &c) {
  std::vector<const CertificateConfig *> out;
  for (const auto &cert : c.certificates) out.push_back(&cert);
  return out;
}

// Names of the nodes of `cert`, stage by stage: "a b | c".
std::string stages(const Plan &plan, const std::string &cert) {
  std::string out;
  for (const auto &stage : certificate_stages(plan, cert)) {
    if (!out.empty()) out += " | ";
    std::string line;
    for (auto i : stage) line += (line.empty() ? "" : " ") + plan.nodes[i].hook;
    out += line;
  }
  return out;
}

}  // namespace

TEST(Plan, AfterAndBeforeOrderTiesByName) {
  Config c = load(exec_hook("zeta") + exec_hook("alpha") + exec_hook("reload", "after = [\"copy\"]\n") +
                  exec_hook("copy") + exec_hook("notify", "after = [\"reload\"]\n") +
                  exec_hook("first", "before = [\"copy\"]\n") +
                  "[[certificate]]\nname = \"a\"\nsource = \"/x\"\n"
                  "hooks = [\"notify\", \"zeta\", \"reload\", \"copy\", \"alpha\", \"first\"]\n");
  PlanInput in;
  in.config = &c;
  in.certificates = all(c);
  Plan plan = build_plan(in);
  ASSERT_EQ(plan.nodes.size(), 6u);
  std::vector<std::string> order;
  for (const auto &n : plan.nodes) order.push_back(n.hook);
  EXPECT_EQ(order, (std::vector<std::string>{"alpha", "first", "copy", "reload", "notify", "zeta"}));
  EXPECT_EQ(stages(plan, "a"), "alpha first zeta | copy | reload | notify");
  for (std::size_t i = 0; i < plan.nodes.size(); ++i)
    for (auto d : plan.nodes[i].after) EXPECT_LT(d, i) << "dependencies must come first";
}

TEST(Plan, OrderingHoldsThroughAHookTheCertificateDoesNotEnable) {
  Config c = load(exec_hook("a") + exec_hook("b", "after = [\"a\"]\n") + exec_hook("c", "after = [\"b\"]\n") +
                  "[[certificate]]\nname = \"x\"\nsource = \"/x\"\nhooks = [\"c\", \"a\"]\n");
  PlanInput in;
  in.config = &c;
  in.certificates = all(c);
  EXPECT_EQ(stages(build_plan(in), "x"), "a | c");
}

TEST(Plan, BatchingHookIsOneNodeAfterEveryCertificatesPredecessors) {
  Config c = load(exec_hook("copy") + "[[hook]]\nname = \"reload\"\ntype = \"batchy\"\nafter = [\"copy\"]\n" +
                  exec_hook("notify", "after = [\"reload\"]\n") +
                  "[[certificate]]\nname = \"a\"\nsource = \"/a\"\nhooks = [\"copy\", \"reload\"]\n"
                  "[[certificate]]\nname = \"b\"\nsource = \"/b\"\nhooks = [\"copy\", \"reload\", \"notify\"]\n"
                  "[[certificate]]\nname = \"c\"\nsource = \"/c\"\nhooks = [\"reload\"]\n");
  PlanInput in;
  in.config = &c;
  in.certificates = all(c);
  in.is_batching = [](const HookConfig &h) { return h.type == "batchy"; };
  Plan plan = build_plan(in);
  auto reloads = std::count_if(plan.nodes.begin(), plan.nodes.end(), [](auto &n) { return n.hook == "reload"; });
  ASSERT_EQ(reloads, 1);
  auto it = std::find_if(plan.nodes.begin(), plan.nodes.end(), [](auto &n) { return n.hook == "reload"; });
  EXPECT_TRUE(it->batching);
  EXPECT_EQ(it->certificates, (std::vector<std::string>{"a", "b", "c"}));
  ASSERT_EQ(it->after.size(), 2u);  // copy for a and copy for b
  for (auto d : it->after) EXPECT_EQ(plan.nodes[d].hook, "copy");
  EXPECT_EQ(stages(plan, "b"), "copy | reload | notify");
  EXPECT_EQ(stages(plan, "c"), "reload");
}

TEST(Plan, HooksDScriptsFollowConfiguredHooksInOrderAndIncludeFilters) {
  Config c = load(exec_hook("copy") +
                  "[[certificate]]\nname = \"a\"\nsource = \"/a\"\nhooks = [\"copy\"]\n"
                  "[[certificate]]\nname = \"b\"\nsource = \"/b\"\nhooks = [\"copy\"]\nhooks_d = false\n");
  PlanInput in;
  in.config = &c;
  in.certificates = all(c);
  in.hooks_d_deploy = {{"hooks.d/deploy/10-x", "/h/10-x"}, {"hooks.d/deploy/reload.sh", "/h/reload.sh"}};
  EXPECT_EQ(stages(build_plan(in), "a"), "copy | hooks.d/deploy/10-x | hooks.d/deploy/reload.sh");
  EXPECT_EQ(stages(build_plan(in), "b"), "copy");
  // Only pending pairs make nodes: a deployed hook drops out, the rest keeps its order.
  in.include = [](const std::string &cert, const std::string &hook) { return !(cert == "a" && hook == "copy"); };
  EXPECT_EQ(stages(build_plan(in), "a"), "hooks.d/deploy/10-x | hooks.d/deploy/reload.sh");
}
