// certhook status [NAME...] [--check]
#include <iostream>

#include "cli/commands.hpp"
#include "cli/engine.hpp"
#include "cli/output.hpp"
#include "util/exit_status.hpp"

namespace certhook::cli {

int cmd_status(const GlobalOptions &g, const StatusOptions &o) {
  Engine engine(g);
  if (!engine.load() || !engine.check_names(o.names)) return exit_usage;
  bool attention = false;
  nlohmann::json status = engine.status_json(o.names, attention);
  if (g.json) {
    print_json(status);
  } else {
    for (const auto &c : status["certificates"]) {
      std::cout << c["name"].get<std::string>();
      if (c.contains("error")) {
        std::cout << ": " << c["error"].get<std::string>() << "\n";
      } else {
        std::cout << "  expires " << c["not_after"].get<std::string>()
                  << (c.value("expires_soon", false) ? " (within renew_before)" : "") << "  "
                  << c["fingerprint"].get<std::string>().substr(0, 16) << "\n";
      }
      for (const auto &h : c["hooks"]) {
        std::cout << "  " << h["state"].get<std::string>() << "  " << h["name"].get<std::string>() << " ("
                  << h["type"].get<std::string>() << ")";
        if (h["attempts"].get<int>() > 0)
          std::cout << "  attempts " << h["attempts"].get<int>() << ": " << h["last_error"].get<std::string>();
        std::cout << "\n";
      }
      if (c.contains("issuance"))
        std::cout << "  issuance failed " << c["issuance"]["failures"].get<int>() << " time(s): "
                  << c["issuance"]["last_error"].get<std::string>() << "; next attempt "
                  << c["issuance"]["next_attempt"].get<std::string>() << "\n";
    }
  }
  return o.check && attention ? exit_failed : exit_ok;
}

}  // namespace certhook::cli
