// certhook plan [NAME...]: the ordered stages per certificate; changes nothing.
#include <iostream>

#include "cli/commands.hpp"
#include "cli/engine.hpp"
#include "cli/output.hpp"
#include "util/exit_status.hpp"

namespace certhook::cli {

int cmd_plan(const GlobalOptions &g, const std::vector<std::string> &names) {
  Engine engine(g);
  if (!engine.load() || !engine.check_names(names)) return exit_usage;
  nlohmann::json plan = engine.plan_json(names);
  if (g.json) {
    print_json(plan);
    return exit_ok;
  }
  auto list = [](const nlohmann::json &a) {
    std::string s;
    for (const auto &k : a) s += (s.empty() ? "" : ", ") + k.get<std::string>();
    return s.empty() ? std::string("(none)") : s;
  };
  std::cout << "pre (before the first issuance): " << list(plan["pre"]) << "\n";
  for (const auto &c : plan["certificates"]) {
    std::cout << c["name"].get<std::string>();
    if (c.contains("error")) std::cout << "  (" << c["error"].get<std::string>() << ")";
    else std::cout << "  " << c["fingerprint"].get<std::string>().substr(0, 16);
    std::cout << "\n";
    int n = 0;
    for (const auto &stage : c["stages"]) {
      std::cout << "  stage " << ++n << ":";
      for (const auto &h : stage)
        std::cout << "  " << h["hook"].get<std::string>() << " [" << h["type"].get<std::string>()
                  << (h["batching"].get<bool>() ? ", batching" : "") << "] " << h["state"].get<std::string>();
      std::cout << "\n";
    }
  }
  std::cout << "post (after deploys, when something changed): " << list(plan["post"]) << "\n";
  return exit_ok;
}

}  // namespace certhook::cli
