// certhook plugin list | info NAME | install FILE | verify
//
// Needs from the configuration only [certhook] plugin_dirs and state_dir.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <iomanip>
#include <iostream>
#include <sstream>

#include "cli/commands.hpp"
#include "cli/output.hpp"
#include "config/config.hpp"
#include "plugin/catalog.hpp"
#include "plugin/options.hpp"
#include "plugin/pins.hpp"
#include "util/atomic_file.hpp"
#include "util/crypto.hpp"
#include "util/exit_status.hpp"
#include "util/permissions.hpp"

namespace certhook::cli {
namespace {

struct PluginSettings {
  GlobalSettings global;
  Diagnostics problems;
};

// [certhook] state_dir and plugin_dirs, through the one configuration loader. Only problems in
// [certhook] (or a file that cannot be loaded) stop plugin management: a broken hook or
// certificate elsewhere must not keep an operator from listing or installing plugins.
PluginSettings read_plugin_settings(const fs::path &config_file) {
  PluginSettings s;
  LoadResult r = load_config(config_file);
  if (!r.config) {
    s.problems = r.fatal;
    return s;
  }
  for (const auto &d : r.fatal)
    if (d.key.starts_with("certhook.") || d.key.empty()) s.problems.push_back(d);
  s.global = r.config->certhook;
  return s;
}

int fail(const GlobalOptions &g, int status, const std::string &message,
         nlohmann::json extra = nlohmann::json::object()) {
  if (g.json) {
    extra["ok"] = false;
    extra["errors"] = nlohmann::json::array({to_json(Diagnostic{{}, "", message})});
    print_json(extra);
  } else {
    std::cerr << "certhook: plugin: " << message << '\n';
  }
  return status;
}

nlohmann::json option_json(const OptionSpec &o) {
  return {{"key", o.key},
          {"type", to_string(o.type)},
          {"required", o.required},
          {"secret", o.secret},
          {"default", !o.default_value ? nlohmann::json()
                      : o.secret     ? nlohmann::json(std::string(redacted_text))
                                     : nlohmann::json(*o.default_value)},
          {"help", o.help}};
}

nlohmann::json plugin_json(const PluginInfo &p) {
  auto options = nlohmann::json::array();
  for (const auto &o : p.options) options.push_back(option_json(o));
  return {{"name", p.name},         {"version", p.version}, {"description", p.description},
          {"file", p.file.string()}, {"abi", p.abi},         {"batching", p.batching},
          {"sha256", p.sha256},      {"pinned", p.pinned},   {"options", options}};
}

// Columns padded to the widest cell.
void print_table(const std::vector<std::vector<std::string>> &rows) {
  std::vector<std::size_t> width;
  for (const auto &r : rows)
    for (std::size_t i = 0; i < r.size(); ++i) {
      if (width.size() <= i) width.push_back(0);
      width[i] = std::max(width[i], r[i].size());
    }
  for (const auto &r : rows) {
    std::string line;
    for (std::size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(width[i] - r[i].size() + 2, ' ');
    }
    std::cout << line << '\n';
  }
}

int list(const GlobalOptions &g, const PluginSettings &s) {
  Catalog catalog = discover_plugins(s.global, s.global.state_dir);
  if (g.json) {
    auto plugins = nlohmann::json::array(), refused = nlohmann::json::array();
    for (const auto &p : catalog.plugins) {
      auto j = plugin_json(p);
      j.erase("options");
      plugins.push_back(j);
    }
    for (const auto &r : catalog.refused) refused.push_back({{"file", r.file.string()}, {"problem", r.problem}});
    print_json({{"ok", catalog.problems.empty()}, {"plugins", plugins}, {"refused", refused},
                {"errors", to_json(catalog.problems)}});
    return exit_ok;
  }
  if (catalog.plugins.empty() && catalog.refused.empty()) {
    std::string dirs;
    for (const auto &d : s.global.plugin_dirs) dirs += (dirs.empty() ? "" : ", ") + d.string();
    std::cout << "no plugins installed (plugin_dirs: " << (dirs.empty() ? "none" : dirs) << ")\n";
  }
  if (!catalog.plugins.empty()) {
    std::vector<std::vector<std::string>> rows = {{"NAME", "VERSION", "ABI", "PINNED", "FILE"}};
    for (const auto &p : catalog.plugins)
      rows.push_back({p.name, p.version, p.abi, p.pinned ? "pinned" : "unpinned", p.file.string()});
    print_table(rows);
  }
  for (const auto &r : catalog.refused) std::cout << "refused: " << r.problem << '\n';
  // Problems that are not about one plugin (e.g. an unreadable pins.json).
  for (const auto &d : catalog.problems) {
    bool about_refused = false;
    for (const auto &r : catalog.refused) about_refused = about_refused || d.where.file == r.file.string();
    if (!about_refused) std::cerr << d.to_string() << '\n';
  }
  return exit_ok;
}

int info(const GlobalOptions &g, const PluginSettings &s, const std::string &name) {
  Catalog catalog = discover_plugins(s.global, s.global.state_dir);
  const PluginInfo *p = catalog.find(name);
  if (!p) {
    std::string message = "no installed plugin named \"" + name + "\"";
    std::vector<std::string> names = catalog.names();
    if (auto near = closest_name(name, names)) message += "; did you mean \"" + *near + "\"?";
    else {
      std::string all;
      for (const auto &n : names) all += (all.empty() ? "" : ", ") + n;
      message += " (installed plugins: " + (all.empty() ? std::string("none") : all) + ")";
    }
    for (const auto &r : catalog.refused)
      if (r.file.stem() == name) message += "; note: " + r.problem;
    return fail(g, exit_usage, message);
  }
  if (g.json) {
    print_json(plugin_json(*p));
    return exit_ok;
  }
  std::cout << p->name << ' ' << p->version << " — " << p->description << '\n'
            << "file:     " << p->file.string() << '\n'
            << "abi:      " << p->abi << '\n'
            << "batching: " << (p->batching ? "yes (one call per run with every certificate)"
                                            : "no (one call per certificate)")
            << '\n'
            << "sha256:   " << p->sha256 << (p->pinned ? " (pinned)" : " (not pinned)") << '\n';
  if (p->options.empty()) {
    std::cout << "options:  none\n";
    return exit_ok;
  }
  std::vector<std::vector<std::string>> rows = {{"KEY", "TYPE", "REQUIRED", "DEFAULT", "SECRET", "HELP"}};
  for (const auto &o : p->options)
    rows.push_back({o.key, to_string(o.type), o.required ? "yes" : "no",
                    !o.default_value ? std::string("-") : o.secret ? std::string(redacted_text) : *o.default_value,
                    o.secret ? "yes" : "no", o.help});
  std::cout << "options:\n";
  print_table(rows);
  return exit_ok;
}

// STATE/lock, flock()ed while install changes state (DESIGN §2), released at exit.
// Empty when taken; else the problem.
std::string lock_state(const GlobalOptions &g, const fs::path &state_dir) {
  std::error_code ec;
  fs::create_directories(state_dir, ec);
  if (ec) return state_dir.string() + ": cannot create: " + ec.message();
  const fs::path lock = state_dir / "lock";
  int fd = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return lock.string() + ": cannot open: " + std::strerror(errno);
  if (::flock(fd, LOCK_EX | LOCK_NB) == 0) return {};   // fd stays open: held until exit
  if (errno != EWOULDBLOCK) return lock.string() + ": cannot lock: " + std::strerror(errno);
  if (g.no_wait) {
    ::close(fd);
    return lock.string() + ": another certhook holds the state lock; try again when it is done";
  }
  std::cerr << "certhook: plugin: waiting for another certhook to release " << lock.string() << '\n';
  while (::flock(fd, LOCK_EX) != 0)
    if (errno != EINTR) return lock.string() + ": cannot lock: " + std::strerror(errno);
  return {};
}

int install(const GlobalOptions &g, const PluginSettings &s, const fs::path &source) {
  std::error_code ec;
  if (!fs::is_regular_file(source, ec))
    return fail(g, exit_failed, source.string() + ": not a regular file; give the plugin's .so file");
  if (s.global.plugin_dirs.empty())
    return fail(g, exit_usage, "[certhook] plugin_dirs is empty: nowhere to install; add a directory");
  // 1. Validate through the host before touching anything.
  PluginInfo info;
  try {
    info = describe_plugin(source);
  } catch (const std::exception &e) {
    return fail(g, exit_failed, std::string(e.what()) + " (nothing installed)");
  }
  std::string bytes;
  try {
    bytes = read_file(source);
  } catch (const std::exception &e) {
    return fail(g, exit_failed, e.what());
  }
  const fs::path dir = s.global.plugin_dirs.front();
  fs::create_directories(dir, ec);
  if (ec) return fail(g, exit_failed, dir.string() + ": cannot create: " + ec.message());
  if (auto problem = unsafe_permissions(dir)) return fail(g, exit_failed, *problem + " (nothing installed)");
  const fs::path dest = dir / (source.extension() == ".so" ? source.filename().string() : info.name + ".so");

  if (auto problem = lock_state(g, s.global.state_dir); !problem.empty())
    return fail(g, exit_failed, problem + " (nothing installed)");
  // 2. Refuse a clash with another installed file.
  Catalog catalog = discover_plugins(s.global, s.global.state_dir);
  const std::string dest_key = pin_key(dest);
  for (const auto &p : catalog.plugins) {
    const bool same_file = pin_key(p.file) == dest_key;
    if (p.name == info.name && !same_file)
      return fail(g, exit_failed, "plugin \"" + info.name + "\" is already installed as " + p.file.string() +
                                      "; remove that file first, or install under its file name to "
                                      "replace it (nothing installed)");
    if (same_file && p.name != info.name)
      return fail(g, exit_failed, dest.string() + " already holds plugin \"" + p.name + "\", not \"" +
                                      info.name + "\"; rename " + source.filename().string() +
                                      " or remove the other plugin first (nothing installed)");
  }
  // 3. Copy (temp + fsync + rename, 0644), then pin.
  Pins pins;
  try {
    pins = read_pins(s.global.state_dir);
  } catch (const std::exception &e) {
    return fail(g, exit_failed, std::string(e.what()) + " (nothing installed)");
  }
  const std::string sha = sha256_hex(bytes);
  try {
    if (pin_key(source) != dest_key) write_file_atomic(dest, bytes, 0644);
    pins[dest_key] = sha;
    write_pins(s.global.state_dir, pins);
  } catch (const std::exception &e) {
    return fail(g, exit_failed, e.what());
  }
  if (g.json) {
    print_json({{"ok", true}, {"installed", {{"name", info.name}, {"version", info.version},
                                             {"file", dest.string()}, {"sha256", sha}, {"pinned", true}}}});
  } else {
    std::cout << "installed " << info.name << ' ' << info.version << " as " << dest.string()
              << " (sha256 " << sha << ", pinned in " << pins_path(s.global.state_dir).string() << ")\n";
  }
  return exit_ok;
}

int verify(const GlobalOptions &g, const PluginSettings &s) {
  Pins pins;
  try {
    pins = read_pins(s.global.state_dir);
  } catch (const std::exception &e) {
    return fail(g, exit_failed, e.what());
  }
  auto results = nlohmann::json::array();
  int bad = 0;
  for (const auto &[file, pinned] : pins) {
    std::error_code ec;
    std::string state = "ok", actual;
    if (!fs::exists(file, ec)) {
      state = "missing";
    } else {
      try {
        actual = file_sha256(file);
        if (actual != pinned) state = "changed";
      } catch (const std::exception &) {
        state = "unreadable";
      }
    }
    if (state != "ok") ++bad;
    results.push_back({{"file", file}, {"state", state}, {"pinned", pinned}, {"actual", actual}});
    if (g.json) continue;
    if (state == "ok") std::cout << file << ": ok\n";
    else if (state == "missing")
      std::cout << file << ": MISSING: pinned but not found; reinstall it with certhook plugin install, or "
                           "remove its entry from " << pins_path(s.global.state_dir).string() << '\n';
    else if (state == "changed")
      std::cout << file << ": CHANGED since it was pinned (sha256 " << actual << ", pinned " << pinned
                << "); it is refused until reinstalled with certhook plugin install\n";
    else
      std::cout << file << ": UNREADABLE; check its permissions\n";
  }
  if (g.json) print_json({{"ok", bad == 0}, {"plugins", results}});
  else if (pins.empty()) std::cout << "no pinned plugins\n";
  return bad ? exit_failed : exit_ok;
}

}  // namespace

int cmd_plugin(const GlobalOptions &g, const PluginCommand &o) {
  std::error_code ec;
  if (!fs::exists(g.config_path, ec))
    return fail(g, exit_usage, g.config_path.string() + ": no such config file; pass --config PATH or set "
                                                        "CERTHOOK_CONFIG");
  PluginSettings s = read_plugin_settings(g.config_path);
  if (!s.problems.empty()) {
    if (g.json) print_json({{"ok", false}, {"errors", to_json(s.problems)}});
    else print_diagnostics(s.problems);
    return exit_usage;
  }
  if (o.action == "list") return list(g, s);
  if (o.action == "info") return info(g, s, o.argument);
  if (o.action == "install") return install(g, s, o.argument);
  if (o.action == "verify") return verify(g, s);
  return fail(g, exit_usage, "unknown action \"" + o.action + "\"; use list, info, install or verify");
}

}  // namespace certhook::cli
