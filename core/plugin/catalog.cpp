#include "plugin/catalog.hpp"

#include <signal.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "plugin/host_process.hpp"
#include "plugin/pins.hpp"
#include "util/duration.hpp"
#include "util/permissions.hpp"

namespace certhook {
namespace {

constexpr struct {
  OptionType type;
  const char *name;
} option_type_names[] = {
    {OptionType::string, "string"},     {OptionType::integer, "int"},
    {OptionType::boolean, "bool"},      {OptionType::duration, "duration"},
    {OptionType::path, "path"},         {OptionType::url, "url"},
    {OptionType::string_list, "string list"}, {OptionType::table, "table"},
};

// The host's messages begin with "FILE: "; the diagnostic names the file in `where` instead.
std::string strip_file_prefix(const fs::path &file, std::string message) {
  const std::string prefix = file.string() + ": ";
  if (message.rfind(prefix, 0) == 0) message.erase(0, prefix.size());
  while (!message.empty() && (message.back() == '\n' || message.back() == '\r')) message.pop_back();
  return message;
}

void refuse(Catalog &catalog, const fs::path &file, const std::string &problem) {
  const std::string message = strip_file_prefix(file, problem);
  catalog.refused.push_back({file, file.string() + ": " + message});
  Diagnostic d;
  d.where.file = file.string();
  d.message = message;
  catalog.problems.push_back(std::move(d));
}

std::string last_line(const std::string &text) {
  std::string t = text;
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) t.pop_back();
  auto nl = t.rfind('\n');
  return nl == std::string::npos ? t : t.substr(nl + 1);
}

fs::path self_exe_dir() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path() : exe.parent_path();
}

bool is_executable_file(const fs::path &p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec) && ::access(p.c_str(), X_OK) == 0;
}

}  // namespace

const char *to_string(OptionType t) {
  for (const auto &e : option_type_names)
    if (e.type == t) return e.name;
  return "unknown";
}

std::optional<OptionType> parse_option_type(std::string_view name) {
  for (const auto &e : option_type_names)
    if (name == e.name) return e.type;
  return std::nullopt;
}

const OptionSpec *PluginInfo::find_option(std::string_view key) const {
  for (const auto &o : options)
    if (o.key == key) return &o;
  return nullptr;
}

const PluginInfo *Catalog::find(std::string_view name) const {
  for (const auto &p : plugins)
    if (p.name == name) return &p;
  return nullptr;
}

std::vector<std::string> Catalog::names() const {
  std::vector<std::string> out;
  for (const auto &p : plugins) out.push_back(p.name);
  return out;
}

fs::path plugin_host_path() {
  if (const char *env = std::getenv("CERTHOOK_PLUGIN_HOST"); env && *env) return env;
  const fs::path dir = self_exe_dir();
  if (dir.empty()) return {};
  for (const fs::path &p : {dir / "certhook-plugin-host",
                            (dir / ".." / "libexec" / "certhook" / "certhook-plugin-host").lexically_normal()})
    if (is_executable_file(p)) return p;
  return {};
}

PluginInfo describe_plugin(const fs::path &file, std::chrono::milliseconds timeout) {
  const fs::path host = plugin_host_path();
  if (host.empty())
    throw std::runtime_error(file.string() + ": cannot describe: certhook-plugin-host not found next to "
                             "certhook nor in ../libexec/certhook; reinstall certhook or set "
                             "CERTHOOK_PLUGIN_HOST");
  CapturedRun run = run_captured({host.string(), "describe", file.string()}, timeout);
  if (!run.started) throw std::runtime_error(file.string() + ": cannot describe: " + run.error);
  if (run.timed_out)
    throw std::runtime_error(file.string() + ": the plugin did not load within " + format_duration(timeout) +
                             " (its entry point hangs); fix or remove the plugin");
  if (run.signal)
    throw std::runtime_error(file.string() + ": the plugin crashed while loading (" +
                             strsignal(run.signal) + "); fix or remove the plugin");
  nlohmann::json j = nlohmann::json::parse(run.out, nullptr, false);
  if (run.exit_code != 0) {
    if (!j.is_discarded() && j.is_object() && j.contains("error") && j["error"].is_string())
      throw std::runtime_error(j["error"].get<std::string>());
    std::string why = last_line(run.err);
    throw std::runtime_error(file.string() + ": refused by certhook-plugin-host (exit " +
                             std::to_string(run.exit_code) + ")" + (why.empty() ? "" : ": " + why));
  }
  if (j.is_discarded() || !j.is_object())
    throw std::runtime_error(file.string() + ": certhook-plugin-host printed no descriptor; "
                             "check that " + host.string() + " belongs to this certhook");
  PluginInfo info;
  info.file = file;
  try {
    info.name = j.at("name").get<std::string>();
    info.version = j.value("version", "");
    info.description = j.value("description", "");
    info.abi = j.value("abi", "");
    info.batching = j.value("batching", false);
    for (const auto &o : j.value("options", nlohmann::json::array())) {
      OptionSpec spec;
      spec.key = o.at("key").get<std::string>();
      auto type = parse_option_type(o.at("type").get<std::string>());
      if (!type)
        throw std::runtime_error("option " + spec.key + " has unknown type " + o.at("type").dump());
      spec.type = *type;
      spec.required = o.value("required", false);
      spec.secret = o.value("secret", false);
      if (o.contains("default") && o["default"].is_string()) spec.default_value = o["default"].get<std::string>();
      spec.help = o.value("help", "");
      info.options.push_back(std::move(spec));
    }
  } catch (const std::exception &e) {
    throw std::runtime_error(file.string() + ": bad descriptor from certhook-plugin-host: " + e.what());
  }
  return info;
}

Catalog discover_plugins(const GlobalSettings &settings, const fs::path &state_dir) {
  Catalog catalog;
  Pins pins;
  try {
    pins = read_pins(state_dir);
  } catch (const std::exception &e) {
    Diagnostic d;
    d.where.file = pins_path(state_dir).string();
    d.message = strip_file_prefix(pins_path(state_dir), e.what()) + " (pins are not enforced until then)";
    catalog.problems.push_back(std::move(d));
  }
  for (const fs::path &dir : settings.plugin_dirs) {
    std::error_code ec;
    if (!fs::exists(dir, ec)) continue;  // a missing dir contributes nothing
    if (!fs::is_directory(dir, ec)) {
      refuse(catalog, dir, "not a directory; fix [certhook] plugin_dirs");
      continue;
    }
    if (auto problem = unsafe_permissions(dir)) {
      refuse(catalog, dir, *problem + " (no plugin in it is loaded)");
      continue;
    }
    std::vector<fs::path> files;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
      if (it->path().extension() == ".so" && it->path().filename().string().front() != '.')
        files.push_back(it->path());
    if (ec) {
      refuse(catalog, dir, "cannot list: " + ec.message());
      continue;
    }
    std::sort(files.begin(), files.end(),
              [](const fs::path &a, const fs::path &b) { return a.filename().string() < b.filename().string(); });
    for (const fs::path &file : files) {
      if (auto problem = unsafe_permissions(file)) {
        refuse(catalog, file, *problem);
        continue;
      }
      std::string sha;
      try {
        sha = file_sha256(file);
      } catch (const std::exception &e) {
        refuse(catalog, file, std::string("cannot read: ") + e.what());
        continue;
      }
      bool pinned = false;
      if (auto pin = pins.find(pin_key(file)); pin != pins.end()) {
        if (pin->second != sha) {
          refuse(catalog, file, "changed since it was pinned (sha256 " + sha + ", pinned " + pin->second +
                                    "); reinstall it with certhook plugin install, or restore the pinned file");
          continue;
        }
        pinned = true;
      }
      PluginInfo info;
      try {
        info = describe_plugin(file);
      } catch (const std::exception &e) {
        refuse(catalog, file, e.what());
        continue;
      }
      info.sha256 = sha;
      info.pinned = pinned;
      if (const PluginInfo *first = catalog.find(info.name)) {
        refuse(catalog, file, "plugin name \"" + info.name + "\" is already provided by " +
                                  first->file.string() + ", which wins; remove or rename one of them");
        continue;
      }
      catalog.plugins.push_back(std::move(info));
    }
  }
  return catalog;
}

}  // namespace certhook
