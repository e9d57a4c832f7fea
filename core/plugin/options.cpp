#include "plugin/options.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <tuple>

#include "util/duration.hpp"

namespace certhook {
namespace {

const char *kind_text(Value::Kind k) {
  switch (k) {
    case Value::Kind::string: return "a string";
    case Value::Kind::integer: return "an integer";
    case Value::Kind::floating: return "a float";
    case Value::Kind::boolean: return "a boolean";
    case Value::Kind::datetime: return "a date-time";
    case Value::Kind::array: return "an array";
    case Value::Kind::table: return "a table";
  }
  return "a value";
}

const char *expected_text(OptionType t) {
  switch (t) {
    case OptionType::string: return "a string";
    case OptionType::integer: return "an integer";
    case OptionType::boolean: return "true or false";
    case OptionType::duration: return "a duration string such as \"30s\" or \"5m\"";
    case OptionType::path: return "a path string";
    case OptionType::url: return "a URL string such as \"https://example.com/hook\"";
    case OptionType::string_list: return "an array of strings such as [\"a\", \"b\"]";
    case OptionType::table: return "a table of strings such as { NAME = \"value\" }";
  }
  return "a value";
}

std::string in_quotes(std::string_view s) { return "\"" + std::string(s) + "\""; }

// Collects the problems of one option; hides a secret option's value in every message.
struct Reporter {
  Diagnostics &out;
  std::string key;                  // "hook.<name>.options.<key>"
  const OptionSpec *spec = nullptr;
  std::string secret_text;          // the raw value of a secret option, scrubbed from messages

  void operator()(const SourceLocation &where, std::string message) const {
    if (spec && spec->secret && !secret_text.empty()) {
      for (std::size_t at; (at = message.find(secret_text)) != std::string::npos;)
        message.replace(at, secret_text.size(), redacted_text);
    }
    out.push_back(Diagnostic{where, key, std::move(message), Severity::error});
  }
};

// `shown`: the value as text for messages (nullopt for a secret option).
std::optional<nlohmann::json> typed(const Value &v, const OptionSpec &spec, const fs::path &base_dir,
                                    const Reporter &report) {
  const bool secret = spec.secret;
  auto wrong_type = [&]() -> std::optional<nlohmann::json> {
    report(v.where, std::string("expected ") + expected_text(spec.type) + ", found " + kind_text(v.kind));
    return std::nullopt;
  };
  switch (spec.type) {
    case OptionType::string:
      if (v.kind != Value::Kind::string) return wrong_type();
      return nlohmann::json(v.text);
    case OptionType::integer:
      if (v.kind != Value::Kind::integer) return wrong_type();
      return nlohmann::json(v.integer);
    case OptionType::boolean:
      if (v.kind != Value::Kind::boolean) return wrong_type();
      return nlohmann::json(v.boolean);
    case OptionType::duration: {
      if (v.kind != Value::Kind::string) return wrong_type();
      std::string why;
      auto d = parse_duration(v.text, &why);
      if (!d) {
        report(v.where, secret ? "not a valid duration (value not shown: the option is secret); write "
                                 "<integer><unit> groups with units ms, s, m, h, d, e.g. \"30s\""
                               : why);
        return std::nullopt;
      }
      return nlohmann::json(static_cast<std::int64_t>(d->count()));
    }
    case OptionType::path: {
      if (v.kind != Value::Kind::string) return wrong_type();
      if (v.text.empty()) {
        report(v.where, "empty path; give a file or directory path (relative paths resolve against "
                        "the config file's directory)");
        return std::nullopt;
      }
      fs::path p(v.text);
      if (p.is_relative()) p = base_dir / p;
      return nlohmann::json(p.lexically_normal().string());
    }
    case OptionType::url: {
      if (v.kind != Value::Kind::string) return wrong_type();
      if (auto why = url_problem(v.text)) {
        report(v.where, (secret ? std::string("not a valid URL (value not shown: the option is secret)")
                                : in_quotes(v.text) + " is not a valid URL") + ": " + *why);
        return std::nullopt;
      }
      return nlohmann::json(v.text);
    }
    case OptionType::string_list: {
      if (v.kind != Value::Kind::array) return wrong_type();
      auto list = nlohmann::json::array();
      bool ok = true;
      for (std::size_t i = 0; i < v.items.size(); ++i) {
        const Value &item = v.items[i];
        if (item.kind != Value::Kind::string) {
          report(item.where.line ? item.where : v.where,
                 "item " + std::to_string(i + 1) + ": expected a string, found " + kind_text(item.kind));
          ok = false;
          continue;
        }
        list.push_back(item.text);
      }
      if (!ok) return std::nullopt;
      return list;
    }
    case OptionType::table: {
      if (v.kind != Value::Kind::table) return wrong_type();
      auto table = nlohmann::json::object();
      bool ok = true;
      for (const auto &[k, item] : v.fields) {
        if (item.kind != Value::Kind::string) {
          report(item.where.line ? item.where : v.where,
                 in_quotes(k) + ": expected a string, found " + kind_text(item.kind));
          ok = false;
          continue;
        }
        table[k] = item.text;
      }
      if (!ok) return std::nullopt;
      return table;
    }
  }
  return std::nullopt;
}

// A toml++ node as a Value (no location: defaults come from the plugin, not the config file).
std::optional<Value> to_value(const toml::node &node) {
  Value v;
  if (auto s = node.as_string()) {
    v.kind = Value::Kind::string;
    v.text = s->get();
  } else if (auto i = node.as_integer()) {
    v.kind = Value::Kind::integer;
    v.integer = i->get();
  } else if (auto f = node.as_floating_point()) {
    v.kind = Value::Kind::floating;
    v.floating = f->get();
  } else if (auto b = node.as_boolean()) {
    v.kind = Value::Kind::boolean;
    v.boolean = b->get();
  } else if (auto a = node.as_array()) {
    v.kind = Value::Kind::array;
    for (const auto &item : *a) {
      auto iv = to_value(item);
      if (!iv) return std::nullopt;
      v.items.push_back(std::move(*iv));
    }
  } else if (auto t = node.as_table()) {
    v.kind = Value::Kind::table;
    for (const auto &[k, item] : *t) {
      auto iv = to_value(item);
      if (!iv) return std::nullopt;
      v.fields.emplace_back(std::string(k.str()), std::move(*iv));
    }
  } else {
    v.kind = Value::Kind::datetime;
  }
  return v;
}

std::optional<Value> parse_default(const std::string &literal, std::string *why) {
  try {
    toml::table t = toml::parse("v = " + literal + "\n");
    if (const toml::node *n = t.get("v"); n) {
      auto v = to_value(*n);
      if (!v) *why = "unsupported value";
      return v;
    }
    *why = "no value";
  } catch (const toml::parse_error &e) {
    *why = std::string(e.description());
  }
  return std::nullopt;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t sub = prev[j - 1] + (std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                                               std::tolower(static_cast<unsigned char>(b[j - 1]))
                                           ? 0
                                           : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string join(const std::vector<std::string> &items) {
  std::string out;
  for (const auto &s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

}  // namespace

std::optional<std::string> closest_name(std::string_view word, const std::vector<std::string> &candidates) {
  std::optional<std::string> best;
  std::size_t best_d = std::max<std::size_t>(2, word.size() / 3) + 1;
  for (const auto &c : candidates) {
    std::size_t d = edit_distance(word, c);
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  return best;
}

std::optional<std::string> url_problem(std::string_view text) {
  std::string_view rest;
  if (text.rfind("https://", 0) == 0) rest = text.substr(8);
  else if (text.rfind("http://", 0) == 0) rest = text.substr(7);
  else return "it must start with http:// or https://";
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (auto at = authority.rfind('@'); at != std::string_view::npos) authority.remove_prefix(at + 1);
  std::string_view host = authority, port;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return "unterminated IPv6 address";
    host = authority.substr(0, close + 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return "bad characters after the IPv6 address";
      port = after.substr(1);
      if (port.empty()) return "empty port";
    }
  } else if (auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
    if (port.empty()) return "empty port";
  }
  if (host.empty() || host == "[]") return "it has no host";
  for (char c : host)
    if (std::isspace(static_cast<unsigned char>(c))) return "the host contains a space";
  if (!port.empty()) {
    if (port.size() > 5 || !std::all_of(port.begin(), port.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }) ||
        std::stoi(std::string(port)) == 0 || std::stoi(std::string(port)) > 65535)
      return "the port must be a number from 1 to 65535";
  }
  for (char c : text)
    if (std::isspace(static_cast<unsigned char>(c)) || std::iscntrl(static_cast<unsigned char>(c)))
      return "it contains a space or control character; percent-encode it";
  return std::nullopt;
}

TypedOptions type_options(const HookConfig &hook, const PluginInfo &plugin, const fs::path &config_file) {
  TypedOptions result;
  const fs::path base_dir = config_file.has_parent_path() ? fs::absolute(config_file).parent_path()
                                                          : fs::current_path();
  const std::string prefix = "hook." + hook.name + ".options";
  const SourceLocation &table_where = hook.options.where.line ? hook.options.where : hook.where;

  std::vector<std::string> keys;
  for (const auto &o : plugin.options) keys.push_back(o.key);

  if (hook.options.kind != Value::Kind::table) {
    result.problems.push_back(Diagnostic{table_where, prefix,
                                         std::string("expected a table of options, found ") +
                                             kind_text(hook.options.kind),
                                         Severity::error});
    return result;
  }
  // Present keys, in source order: unknown ones, then typing.
  for (const auto &[key, value] : hook.options.fields) {
    const OptionSpec *spec = plugin.find_option(key);
    if (!spec) {
      std::string message = "unknown option " + in_quotes(key) + " for plugin " + plugin.name;
      if (auto near = closest_name(key, keys)) message += "; did you mean " + in_quotes(*near) + "?";
      else if (keys.empty()) message += ", which takes no options";
      else message += "; its options are: " + join(keys);
      result.problems.push_back(Diagnostic{value.where.line ? value.where : table_where,
                                           prefix + "." + key, message, Severity::error});
      continue;
    }
    Reporter report{result.problems, prefix + "." + key, spec,
                    spec->secret && value.kind == Value::Kind::string ? value.text : std::string()};
    if (auto typed_value = typed(value, *spec, base_dir, report)) result.options[key] = std::move(*typed_value);
  }
  // Absent keys: required ones are errors; defaults are applied.
  for (const auto &spec : plugin.options) {
    bool present = std::any_of(hook.options.fields.begin(), hook.options.fields.end(),
                               [&](const auto &f) { return f.first == spec.key; });
    if (present) continue;
    if (spec.required) {
      result.problems.push_back(Diagnostic{
          table_where, prefix + "." + spec.key,
          "missing required option " + in_quotes(spec.key) + " (" + to_string(spec.type) + ") of plugin " +
              plugin.name + (spec.help.empty() ? "" : ": " + spec.help) + "; add " + spec.key +
              " = ... under [hook.options]",
          Severity::error});
      continue;
    }
    if (!spec.default_value) continue;
    std::string why;
    auto v = parse_default(*spec.default_value, &why);
    std::optional<nlohmann::json> typed_default;
    Diagnostics default_problems;
    if (v) {
      Reporter report{default_problems, prefix + "." + spec.key, &spec,
                      spec.secret ? *spec.default_value : std::string()};
      typed_default = typed(*v, spec, base_dir, report);
      if (!typed_default && !default_problems.empty()) why = default_problems.front().message;
    }
    if (!typed_default) {
      result.problems.push_back(Diagnostic{
          table_where, prefix + "." + spec.key,
          "plugin " + plugin.name + " (" + plugin.file.string() + ") declares a bad default" +
              (spec.secret ? std::string() : " " + *spec.default_value) + ": " + why +
              "; set the option explicitly, or fix the plugin",
          Severity::error});
      continue;
    }
    result.options[spec.key] = std::move(*typed_default);
  }
  std::stable_sort(result.problems.begin(), result.problems.end(), [](const Diagnostic &a, const Diagnostic &b) {
    return std::tie(a.where.line, a.where.column) < std::tie(b.where.line, b.where.column);
  });
  return result;
}

Diagnostics check_plugins(const Config &config) {
  return check_plugin_hooks(config, discover_plugins(config.certhook, config.certhook.state_dir));
}

Diagnostics check_plugin_hooks(const Config &config, const Catalog &catalog) {
  Diagnostics out = catalog.problems;
  const std::vector<std::string> names = catalog.names();
  for (const HookConfig &hook : config.hooks) {
    if (hook.type == "exec") continue;
    if (const PluginInfo *plugin = catalog.find(hook.type)) {
      auto typed_options = type_options(hook, *plugin, config.file);
      for (auto &d : typed_options.problems) out.push_back(std::move(d));
      continue;
    }
    std::string message = "unknown hook type " + in_quotes(hook.type) + " (installed plugins: " +
                          (names.empty() ? std::string("none") : join(names)) + ")";
    std::vector<std::string> candidates = names;
    candidates.insert(candidates.begin(), "exec");
    if (auto near = closest_name(hook.type, candidates)) message += "; did you mean " + in_quotes(*near) + "?";
    else message += "; use \"exec\" or install the plugin with certhook plugin install FILE";
    for (const RefusedPlugin &r : catalog.refused)
      if (r.file.stem() == hook.type) message += "; note: " + r.problem;
    out.push_back(Diagnostic{hook.where, "hook." + hook.name + ".type", message, Severity::error});
  }
  return out;
}

ResolvedPluginHook resolve_plugin_hook(const HookConfig &hook, const Catalog &catalog,
                                       const fs::path &config_file) {
  ResolvedPluginHook r;
  r.plugin = catalog.find(hook.type);
  if (!r.plugin) {
    Config one;
    one.file = config_file;
    one.hooks = {hook};
    Catalog without_problems = catalog;
    without_problems.problems.clear();
    for (const auto &d : check_plugin_hooks(one, without_problems)) r.errors.push_back(d.to_string());
    return r;
  }
  TypedOptions typed_options = type_options(hook, *r.plugin, config_file);
  for (const auto &d : typed_options.problems) r.errors.push_back(d.to_string());
  r.options = std::move(typed_options.options);
  return r;
}

nlohmann::json redact(const nlohmann::json &options, const std::vector<OptionSpec> &schema) {
  nlohmann::json out = options;
  if (!out.is_object()) return out;
  for (const auto &spec : schema)
    if (spec.secret && out.contains(spec.key)) out[spec.key] = std::string(redacted_text);
  return out;
}

}  // namespace certhook
