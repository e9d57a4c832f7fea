// Loads certhook.toml with toml++ and checks the whole schema (DESIGN §3) in one pass.
// toml++ stays inside this file; everything else sees only Config and Value.
#include <toml++/toml.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <system_error>

#include "config/config.hpp"
#include "config/names.hpp"
#include "config/ordering.hpp"
#include "util/suggest.hpp"

namespace certhook {
namespace {

const char *type_name(toml::node_type t) {
  switch (t) {
    case toml::node_type::string: return "string";
    case toml::node_type::integer: return "integer";
    case toml::node_type::floating_point: return "float";
    case toml::node_type::boolean: return "boolean";
    case toml::node_type::date: return "date";
    case toml::node_type::time: return "time";
    case toml::node_type::date_time: return "date-time";
    case toml::node_type::array: return "array";
    case toml::node_type::table: return "table";
    default: return "nothing";
  }
}

std::string q(std::string_view s) { return "\"" + std::string(s) + "\""; }

std::string join(const std::vector<std::string> &items) {
  std::string out;
  for (const auto &i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

// Where diagnostics go and how their keys are spelled: "hook.reload-nginx" + ".timeout".
struct Scope {
  Diagnostics *sink;
  std::string prefix;
  std::string key(std::string_view k) const {
    return prefix.empty() ? std::string(k) : prefix + "." + std::string(k);
  }
  Scope sub(std::string_view k) const { return {sink, key(k)}; }
};

// "host:port" or "[v6]:port"; nullopt when fine.
std::optional<std::string> hostport_problem(std::string_view s) {
  const std::string example = "; write host:port, e.g. \"127.0.0.1:443\" or \"[::1]:443\"";
  std::string_view host, port;
  if (!s.empty() && s.front() == '[') {
    auto close = s.find(']');
    if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':')
      return q(s) + " is not host:port" + example;
    host = s.substr(1, close - 1);
    port = s.substr(close + 2);
  } else {
    auto colon = s.rfind(':');
    if (colon == std::string_view::npos) return q(s) + " has no port" + example;
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
    if (host.find(':') != std::string_view::npos)
      return q(s) + ": put an IPv6 address in brackets" + example;
  }
  if (host.empty()) return q(s) + " has no host" + example;
  if (port.empty() || port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string_view::npos || std::stoi(std::string(port)) < 1 ||
      std::stoi(std::string(port)) > 65535)
    return q(s) + " has an invalid port (1-65535)" + example;
  return std::nullopt;
}

class Loader {
 public:
  Loader(std::string file, fs::path absolute) : file_(std::move(file)) {
    cfg_.file = std::move(absolute);
  }

  LoadResult load(std::string_view text) {
    toml::table doc;
    try {
      doc = toml::parse(text, std::string_view(file_));
    } catch (const toml::parse_error &e) {
      const auto &b = e.source().begin;
      result_.fatal.push_back({{file_, static_cast<int>(b.line), static_cast<int>(b.column)},
                               "",
                               "TOML syntax error: " + std::string(e.description()),
                               Severity::error});
      return std::move(result_);
    }
    load_document(doc);
    result_.config = std::move(cfg_);
    sort_by_location(result_.fatal);
    sort_by_location(result_.warnings);
    return std::move(result_);
  }

 private:
  std::string file_;
  Config cfg_;
  LoadResult result_;

  // ---- locations and reporting ----
  SourceLocation at(const toml::source_region &r) const {
    return {file_, static_cast<int>(r.begin.line), static_cast<int>(r.begin.column)};
  }
  SourceLocation at(const toml::node &n) const { return at(n.source()); }
  SourceLocation at(const toml::key &k) const { return at(k.source()); }

  void error(const Scope &s, SourceLocation where, std::string_view key, std::string message) {
    s.sink->push_back({std::move(where), s.key(key), std::move(message), Severity::error});
  }
  void warn(const Scope &s, SourceLocation where, std::string_view key, std::string message) {
    result_.warnings.push_back({std::move(where), s.key(key), std::move(message), Severity::warning});
  }

  // Unknown keys, each with the closest known key.
  void check_keys(const Scope &s, const toml::table &t, const std::vector<std::string> &known,
                  const std::map<std::string, std::string> &hints = {}) {
    for (auto &&[k, v] : t) {
      std::string name(k.str());
      if (std::find(known.begin(), known.end(), name) != known.end()) continue;
      std::string msg = "unknown key " + q(name);
      if (auto h = hints.find(name); h != hints.end()) msg += "; " + h->second;
      else if (auto m = closest_match(name, known)) msg += "; did you mean " + q(*m) + "?";
      else msg += "; known keys: " + join(known);
      error(s, at(k), name, std::move(msg));
    }
  }

  void wrong_type(const Scope &s, std::string_view key, const toml::node &n, const char *expected,
                  std::string hint = {}) {
    error(s, at(n), key,
          std::string("expected ") + expected + ", found " + type_name(n.type()) + hint);
  }

  // ---- typed getters: nullopt when absent or wrong (wrong is reported) ----
  std::optional<std::string> get_string(const Scope &s, const toml::table &t, std::string_view key) {
    const toml::node *n = t.get(key);
    if (!n) return std::nullopt;
    if (auto v = n->value_exact<std::string>()) return *v;
    wrong_type(s, key, *n, "a string");
    return std::nullopt;
  }
  std::optional<std::int64_t> get_int(const Scope &s, const toml::table &t, std::string_view key,
                                      std::int64_t min, std::int64_t max) {
    const toml::node *n = t.get(key);
    if (!n) return std::nullopt;
    auto v = n->value_exact<std::int64_t>();
    if (!v) {
      wrong_type(s, key, *n, "an integer");
      return std::nullopt;
    }
    if (*v < min || *v > max) {
      error(s, at(*n), key,
            std::to_string(*v) + " is out of range; use " + std::to_string(min) + " to " +
                std::to_string(max));
      return std::nullopt;
    }
    return *v;
  }
  std::optional<bool> get_bool(const Scope &s, const toml::table &t, std::string_view key) {
    const toml::node *n = t.get(key);
    if (!n) return std::nullopt;
    if (auto v = n->value_exact<bool>()) return *v;
    wrong_type(s, key, *n, "a boolean (true or false)");
    return std::nullopt;
  }
  std::optional<Duration> get_duration(const Scope &s, const toml::table &t, std::string_view key,
                                       bool positive) {
    const toml::node *n = t.get(key);
    if (!n) return std::nullopt;
    auto text = n->value_exact<std::string>();
    if (!text) {
      std::string hint;
      if (auto i = n->value_exact<std::int64_t>())
        hint = "; write the unit too, e.g. \"" + std::to_string(*i) + "s\"";
      wrong_type(s, key, *n, "a duration string such as \"30s\" or \"5m\"", hint);
      return std::nullopt;
    }
    std::string why;
    auto d = parse_duration(*text, &why);
    if (!d) {
      error(s, at(*n), key, why);
      return std::nullopt;
    }
    if (positive && d->count() <= 0) {
      error(s, at(*n), key, "must be longer than 0s");
      return std::nullopt;
    }
    return d;
  }
  // A list of strings; `elements` receives each element's location.
  std::optional<std::vector<std::string>> get_string_list(
      const Scope &s, const toml::table &t, std::string_view key,
      std::vector<SourceLocation> *elements = nullptr) {
    const toml::node *n = t.get(key);
    if (!n) return std::nullopt;
    const toml::array *a = n->as_array();
    if (!a) {
      std::string hint;
      if (auto str = n->value_exact<std::string>())
        hint = "; write " + std::string(key) + " = [" + q(*str) + "]";
      wrong_type(s, key, *n, "an array of strings", hint);
      return std::nullopt;
    }
    std::vector<std::string> out;
    bool ok = true;
    for (std::size_t i = 0; i < a->size(); ++i) {
      const toml::node &e = *a->get(i);
      if (auto v = e.value_exact<std::string>()) {
        out.push_back(*v);
        if (elements) elements->push_back(at(e));
      } else {
        wrong_type(s, std::string(key) + "[" + std::to_string(i) + "]", e, "a string");
        ok = false;
      }
    }
    if (!ok) return std::nullopt;
    return out;
  }
  std::optional<fs::path> get_path(const Scope &s, const toml::table &t, std::string_view key,
                                   bool allow_empty = false) {
    auto v = get_string(s, t, key);
    if (!v) return std::nullopt;
    if (v->empty()) {
      if (allow_empty) return fs::path();
      error(s, at(*t.get(key)), key, "empty path; give a path or remove the key for the default");
      return std::nullopt;
    }
    return cfg_.resolve(*v);
  }
  const toml::table *get_table(const Scope &s, const toml::table &t, std::string_view key) {
    const toml::node *n = t.get(key);
    if (!n) return nullptr;
    if (auto tt = n->as_table()) return tt;
    wrong_type(s, key, *n, "a table");
    return nullptr;
  }

  // ---- Value trees for plugin options ----
  Value to_value(const toml::node &n) {
    Value v;
    v.where = at(n);
    switch (n.type()) {
      case toml::node_type::string:
        v.kind = Value::Kind::string;
        v.text = *n.value_exact<std::string>();
        break;
      case toml::node_type::integer:
        v.kind = Value::Kind::integer;
        v.integer = *n.value_exact<std::int64_t>();
        break;
      case toml::node_type::floating_point:
        v.kind = Value::Kind::floating;
        v.floating = *n.value_exact<double>();
        break;
      case toml::node_type::boolean:
        v.kind = Value::Kind::boolean;
        v.boolean = *n.value_exact<bool>();
        break;
      case toml::node_type::array:
        v.kind = Value::Kind::array;
        for (const auto &e : *n.as_array()) v.items.push_back(to_value(e));
        break;
      case toml::node_type::table: {
        v.kind = Value::Kind::table;
        // toml++ keeps keys sorted; restore source order.
        std::vector<std::pair<const toml::key *, const toml::node *>> fields;
        for (auto &&[k, e] : *n.as_table()) fields.emplace_back(&k, &e);
        std::stable_sort(fields.begin(), fields.end(), [](const auto &a, const auto &b) {
          const auto &x = a.first->source().begin, &y = b.first->source().begin;
          return x.line != y.line ? x.line < y.line : x.column < y.column;
        });
        for (auto [k, e] : fields) v.fields.emplace_back(std::string(k->str()), to_value(*e));
        break;
      }
      default: {  // date, time, date-time: as written
        v.kind = Value::Kind::datetime;
        std::ostringstream os;
        n.visit([&](const auto &x) {
          if constexpr (toml::is_date<decltype(x)> || toml::is_time<decltype(x)> ||
                        toml::is_date_time<decltype(x)>)
            os << x;
        });
        v.text = os.str();
        break;
      }
    }
    return v;
  }

  // ---- sections ----
  void load_document(const toml::table &doc) {
    Scope top{&result_.fatal, ""};
    check_keys(top, doc, {"certhook", "acme", "challenge", "hook", "certificate"},
               {{"hooks", "did you mean \"hook\"? each hook is a [[hook]] table"},
                {"certificates", "did you mean \"certificate\"? each is a [[certificate]] table"}});
    if (auto t = get_table(top, doc, "certhook")) load_certhook(*t);
    if (auto t = get_table(top, doc, "acme")) load_acme(*t);
    if (auto t = get_table(top, doc, "challenge"))
      cfg_.challenge = load_challenge({&result_.fatal, "challenge"}, *t, cfg_.challenge);
    auto hooks = array_of_tables(top, doc, "hook");
    auto certs = array_of_tables(top, doc, "certificate");
    load_hooks(hooks);
    load_certificates(certs);
  }

  std::vector<const toml::table *> array_of_tables(const Scope &s, const toml::table &doc,
                                                   std::string_view key) {
    std::vector<const toml::table *> out;
    const toml::node *n = doc.get(key);
    if (!n) return out;
    const toml::array *a = n->as_array();
    if (!a) {
      wrong_type(s, key, *n, "an array of tables",
                 "; write [[" + std::string(key) + "]] (double brackets) for each entry");
      return out;
    }
    for (std::size_t i = 0; i < a->size(); ++i) {
      if (auto t = a->get(i)->as_table()) out.push_back(t);
      else
        wrong_type(s, std::string(key) + "[" + std::to_string(i + 1) + "]", *a->get(i), "a table");
    }
    return out;
  }

  void load_certhook(const toml::table &t) {
    Scope s{&result_.fatal, "certhook"};
    check_keys(s, t, {"state_dir", "plugin_dirs", "hooks_dir", "max_parallel", "hooks_d_timeout"});
    auto &g = cfg_.certhook;
    if (auto p = get_path(s, t, "state_dir")) g.state_dir = *p;
    if (auto l = get_string_list(s, t, "plugin_dirs")) {
      g.plugin_dirs.clear();
      for (std::size_t i = 0; i < l->size(); ++i) {
        if ((*l)[i].empty())
          error(s, at(*t.get("plugin_dirs")->as_array()->get(i)), "plugin_dirs",
                "empty path; remove it");
        else
          g.plugin_dirs.push_back(cfg_.resolve((*l)[i]));
      }
    }
    if (auto p = get_path(s, t, "hooks_dir")) g.hooks_dir = *p;
    if (auto n = get_int(s, t, "max_parallel", 1, 1024)) g.max_parallel = static_cast<int>(*n);
    if (auto d = get_duration(s, t, "hooks_d_timeout", true)) g.hooks_d_timeout = *d;
  }

  std::optional<KeyType> get_key_type(const Scope &s, const toml::table &t) {
    auto v = get_string(s, t, "key_type");
    if (!v) return std::nullopt;
    if (auto k = parse_key_type(*v)) return k;
    std::vector<std::string> names = {"ecdsa-p256", "ecdsa-p384", "rsa-2048", "rsa-3072",
                                      "rsa-4096"};
    std::string msg = "unknown key type " + q(*v);
    if (auto m = closest_match(*v, names)) msg += "; did you mean " + q(*m) + "?";
    else msg += "; use one of " + join(names);
    error(s, at(*t.get("key_type")), "key_type", msg);
    return std::nullopt;
  }

  void load_acme(const toml::table &t) {
    Scope s{&result_.fatal, "acme"};
    check_keys(s, t, {"directory", "contact", "ca_bundle", "key_type", "renew_before", "reuse_key"});
    auto &a = cfg_.acme;
    if (auto v = get_string(s, t, "directory")) {
      std::string_view u = *v;
      std::string_view rest = u.substr(0, 8) == "https://" ? u.substr(8)
                              : u.substr(0, 7) == "http://" ? u.substr(7)
                                                            : std::string_view();
      if (rest.empty() || rest.front() == '/')
        error(s, at(*t.get("directory")), "directory",
              q(u) + " is not an http(s) URL; write e.g. "
                          "\"https://acme-v02.api.letsencrypt.org/directory\"");
      else
        a.directory = *v;
    }
    std::vector<SourceLocation> where;
    if (auto l = get_string_list(s, t, "contact", &where)) {
      for (std::size_t i = 0; i < l->size(); ++i) {
        const auto &c = (*l)[i];
        if (c.rfind("mailto:", 0) != 0 || c.size() <= 7 || c.find('@') == std::string::npos)
          error(s, where[i], "contact",
                q(c) + " is not a mailto: address; write \"mailto:" +
                    (c.find('@') != std::string::npos && c.rfind("mailto:", 0) != 0
                         ? c
                         : std::string("ops@example.com")) +
                    "\"");
        else
          a.contact.push_back(c);
      }
    }
    if (auto p = get_path(s, t, "ca_bundle", true)) a.ca_bundle = *p;
    if (auto k = get_key_type(s, t)) a.key_type = *k;
    if (auto d = get_duration(s, t, "renew_before", true)) a.renew_before = *d;
    if (auto b = get_bool(s, t, "reuse_key")) a.reuse_key = *b;
  }

  ChallengeSettings load_challenge(const Scope &s, const toml::table &t, ChallengeSettings c) {
    check_keys(s, t, {"type", "mode", "listen", "webroot"});
    if (auto v = get_string(s, t, "type")) {
      if (*v != "http-01")
        error(s, at(*t.get("type")), "type",
              "unsupported challenge type " + q(*v) + "; certhook answers \"http-01\" only");
      else
        c.type = *v;
    }
    if (auto v = get_string(s, t, "mode")) {
      if (*v == "standalone") c.mode = ChallengeSettings::Mode::standalone;
      else if (*v == "webroot") c.mode = ChallengeSettings::Mode::webroot;
      else
        error(s, at(*t.get("mode")), "mode",
              "unknown mode " + q(*v) + "; use \"standalone\" or \"webroot\"");
    }
    if (auto v = get_string(s, t, "listen")) {
      if (auto p = hostport_problem(*v)) error(s, at(*t.get("listen")), "listen", *p);
      else c.listen = *v;
    }
    if (auto p = get_path(s, t, "webroot")) c.webroot = *p;
    return c;
  }

  // ---- hooks ----
  struct PendingEdge {
    std::size_t hook;          // the hook that declared it
    std::string other;         // the name it refers to
    bool after;                // after (other -> hook) or before (hook -> other)
    SourceLocation where;
  };

  std::string hook_scope_name(const toml::table &t, std::size_t index) {
    if (auto n = t.get("name"); n && n->value_exact<std::string>() &&
                                valid_name(*n->value_exact<std::string>()))
      return "hook." + *n->value_exact<std::string>();
    return "hook[" + std::to_string(index + 1) + "]";
  }

  void load_hooks(const std::vector<const toml::table *> &tables) {
    std::vector<PendingEdge> edges;
    std::map<std::string, std::size_t> first;  // name -> index
    for (std::size_t i = 0; i < tables.size(); ++i) {
      cfg_.hooks.emplace_back();
      load_hook(*tables[i], i, edges);
      const auto &h = cfg_.hooks.back();
      if (h.name.empty()) continue;
      auto [it, inserted] = first.emplace(h.name, i);
      if (!inserted)
        result_.fatal.push_back(
            {at(*tables[i]->get("name")), "hook." + h.name + ".name",
             "duplicate hook name " + q(h.name) + " (first defined at line " +
                 std::to_string(cfg_.hooks[it->second].where.line) + "); hook names must be unique",
             Severity::error});
    }
    std::vector<std::string> names;
    for (const auto &[n, idx] : first) names.push_back(n);

    std::vector<OrderingEdge> graph;
    std::map<std::pair<std::size_t, std::size_t>, SourceLocation> edge_where;
    for (const auto &e : edges) {
      const auto &h = cfg_.hooks[e.hook];
      std::string key = "hook." + h.name + (e.after ? ".after" : ".before");
      auto it = first.find(e.other);
      if (it == first.end()) {
        result_.fatal.push_back({e.where, key,
                                 "unknown hook " + q(e.other) + did_you_mean(e.other, names) +
                                     (names.empty() ? "; no [[hook]] is defined" : ""),
                                 Severity::error});
        continue;
      }
      OrderingEdge oe = e.after ? OrderingEdge{it->second, e.hook} : OrderingEdge{e.hook, it->second};
      graph.push_back(oe);
      edge_where.emplace(std::make_pair(oe.from, oe.to), e.where);
    }
    for (const auto &cycle : find_cycles(cfg_.hooks.size(), graph)) {
      std::string path;
      for (std::size_t v : cycle) path += (path.empty() ? "" : " -> ") + cfg_.hooks[v].name;
      const auto &start = cfg_.hooks[cycle[0]];
      result_.fatal.push_back({edge_where.at({cycle[0], cycle[1]}), "hook." + start.name,
                               "ordering cycle: " + path +
                                   " (\"a -> b\": a runs before b); remove one of these after/before "
                                   "entries",
                               Severity::error});
    }
  }

  void load_hook(const toml::table &t, std::size_t index, std::vector<PendingEdge> &edges) {
    HookConfig &h = cfg_.hooks.back();
    h.where = at(t);
    Scope s{&h.errors, hook_scope_name(t, index)};
    check_keys(s, t,
               {"name", "type", "after", "before", "timeout", "kill_grace", "retry", "on_failure",
                "dry_run", "verify", "options"},
               {{"command", "exec options go in [hook.options]: command = [\"/path/to/program\"]"},
                {"env", "exec options go in [hook.options]"},
                {"cwd", "exec options go in [hook.options]"}});
    if (!t.get("name")) error(s, h.where, "name", "missing; every [[hook]] needs a unique name");
    else if (auto v = get_string(s, t, "name")) {
      if (valid_name(*v)) h.name = *v;
      else error(s, at(*t.get("name")), "name", "invalid hook name " + q(*v) + "; " + name_rule);
    }
    if (!t.get("type"))
      error(s, h.where, "type", "missing; give \"exec\" or the name of a plugin (e.g. \"nginx\")");
    else if (auto v = get_string(s, t, "type")) {
      if (v->empty()) error(s, at(*t.get("type")), "type", "empty; give \"exec\" or a plugin name");
      else h.type = *v;
    }
    for (bool after : {true, false}) {
      const char *key = after ? "after" : "before";
      std::vector<SourceLocation> where;
      if (auto l = get_string_list(s, t, key, &where)) {
        (after ? h.after : h.before) = *l;
        if (!h.name.empty())
          for (std::size_t i = 0; i < l->size(); ++i)
            edges.push_back({index, (*l)[i], after, where[i]});
      }
    }
    if (auto d = get_duration(s, t, "timeout", true)) h.timeout = *d;
    if (auto d = get_duration(s, t, "kill_grace", false)) h.kill_grace = *d;
    if (auto r = get_table(s, t, "retry")) {
      Scope rs = s.sub("retry");
      check_keys(rs, *r, {"attempts", "delay", "max_delay"});
      if (auto n = get_int(rs, *r, "attempts", 1, 100)) h.retry.attempts = static_cast<int>(*n);
      if (auto d = get_duration(rs, *r, "delay", false)) h.retry.delay = *d;
      if (auto d = get_duration(rs, *r, "max_delay", false)) h.retry.max_delay = *d;
    }
    if (auto v = get_string(s, t, "on_failure")) {
      if (*v == "stop") h.stop_on_failure = true;
      else if (*v != "continue")
        error(s, at(*t.get("on_failure")), "on_failure",
              "unknown value " + q(*v) + "; use \"continue\" or \"stop\"");
    }
    if (auto b = get_bool(s, t, "dry_run")) {
      h.dry_run = *b;
      if (*b && !h.type.empty() && h.type != "exec")
        warn(s, at(*t.get("dry_run")), "dry_run",
             "only exec hooks use dry_run; a plugin runs its preflight under --dry-run");
    }
    if (auto v = get_table(s, t, "verify")) load_verify(s.sub("verify"), *v, h);
    h.options.kind = Value::Kind::table;
    h.options.where = h.where;
    if (auto o = get_table(s, t, "options")) h.options = to_value(*o);
    const toml::node *options = t.get("options");
    if (h.type == "exec" && (!options || options->is_table()))   // a non-table was reported above
      load_exec(s.sub("options"), options ? options->as_table() : nullptr, h);
  }

  void load_verify(const Scope &s, const toml::table &t, HookConfig &h) {
    check_keys(s, t, {"connect", "server_name", "timeout"});
    VerifySettings v;
    v.where = at(t);
    bool ok = true;
    if (!t.get("connect")) {
      error(s, v.where, "connect", "missing; give the host:port to probe, e.g. \"127.0.0.1:443\"");
      ok = false;
    } else if (auto c = get_string(s, t, "connect")) {
      if (auto p = hostport_problem(*c)) {
        error(s, at(*t.get("connect")), "connect", *p);
        ok = false;
      } else {
        v.connect = *c;
      }
    } else {
      ok = false;
    }
    if (auto n = get_string(s, t, "server_name")) {
      if (auto p = domain_problem(*n); p && !n->empty())
        error(s, at(*t.get("server_name")), "server_name", q(*n) + ": " + *p);
      else if (!n->empty() && (*n)[0] == '*')
        error(s, at(*t.get("server_name")), "server_name",
              q(*n) + ": a wildcard cannot be sent as SNI; give one concrete name it covers");
      else
        v.server_name = *n;
    }
    if (auto d = get_duration(s, t, "timeout", true)) v.timeout = *d;
    if (ok) h.verify = v;
  }

  void load_exec(const Scope &s, const toml::table *t, HookConfig &h) {
    const std::string example = "; e.g. command = [\"/usr/local/bin/copy-certs\", \"--to\", \"/srv/tls\"]";
    if (!t) {
      error(s, h.where, "command",
            "missing; an exec hook needs [hook.options] with command (argv, never a shell)" + example);
      return;
    }
    check_keys(s, *t, {"command", "env", "cwd"});
    if (!t->get("command")) {
      error(s, at(*t), "command", "missing; an exec hook needs command (argv, never a shell)" + example);
    } else if (auto c = get_string_list(s, *t, "command")) {
      if (c->empty()) error(s, at(*t->get("command")), "command", "empty; give the program and its arguments" + example);
      else if ((*c)[0].empty())
        error(s, at(*t->get("command")), "command", "the program (first element) is empty" + example);
      else h.command = *c;
    }
    if (auto e = get_table(s, *t, "env")) {
      Scope es = s.sub("env");
      for (auto &&[k, v] : *e) {
        std::string name(k.str());
        bool valid = !name.empty() && !std::isdigit(static_cast<unsigned char>(name[0])) &&
                     name.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") ==
                         std::string::npos;
        if (!valid) {
          error(es, at(k), name, "invalid environment variable name; use letters, digits and '_'");
          continue;
        }
        if (auto str = v.value_exact<std::string>()) h.env.emplace_back(name, *str);
        else wrong_type(es, name, v, "a string");
      }
      std::sort(h.env.begin(), h.env.end());
    }
    if (auto p = get_path(s, *t, "cwd")) h.cwd = *p;
  }

  // ---- certificates ----
  void load_certificates(const std::vector<const toml::table *> &tables) {
    std::vector<std::string> hook_names;
    for (const auto &h : cfg_.hooks)
      if (!h.name.empty()) hook_names.push_back(h.name);
    std::map<std::string, std::size_t> first;
    for (std::size_t i = 0; i < tables.size(); ++i) {
      cfg_.certificates.emplace_back();
      load_certificate(*tables[i], i, hook_names);
      const auto &c = cfg_.certificates.back();
      if (c.name.empty()) continue;
      auto [it, inserted] = first.emplace(c.name, i);
      if (!inserted)
        result_.fatal.push_back(
            {at(*tables[i]->get("name")), "certificate." + c.name + ".name",
             "duplicate certificate name " + q(c.name) + " (first defined at line " +
                 std::to_string(cfg_.certificates[it->second].where.line) +
                 "); certificate names must be unique",
             Severity::error});
    }
  }

  void load_certificate(const toml::table &t, std::size_t index,
                        const std::vector<std::string> &hook_names) {
    CertificateConfig &c = cfg_.certificates.back();
    c.where = at(t);
    c.source_where = c.where;
    c.challenge = cfg_.challenge;
    c.key_type = cfg_.acme.key_type;
    c.renew_before = cfg_.acme.renew_before;
    c.reuse_key = cfg_.acme.reuse_key;
    std::string prefix = "certificate[" + std::to_string(index + 1) + "]";
    if (auto n = t.get("name"); n && n->value_exact<std::string>() &&
                                valid_name(*n->value_exact<std::string>()))
      prefix = "certificate." + *n->value_exact<std::string>();
    Scope s{&c.errors, prefix};
    check_keys(s, t,
               {"name", "domains", "hooks", "hooks_d", "source", "challenge", "key_type",
                "renew_before", "reuse_key"});
    if (!t.get("name"))
      error(s, c.where, "name", "missing; every [[certificate]] needs a unique name");
    else if (auto v = get_string(s, t, "name")) {
      if (valid_name(*v)) c.name = *v;
      else
        error(s, at(*t.get("name")), "name",
              "invalid certificate name " + q(*v) + "; " + name_rule);
    }
    if (auto v = get_string(s, t, "source")) {
      c.source_where = at(*t.get("source"));
      if (*v == "acme") c.acme = true;
      else if (v->empty())
        error(s, c.source_where, "source",
              "empty; write \"acme\" or the path of an existing lineage directory");
      else {
        c.acme = false;
        c.source = cfg_.resolve(*v);
      }
    }
    std::vector<SourceLocation> where;
    if (auto l = get_string_list(s, t, "domains", &where)) {
      std::set<std::string> seen;
      for (std::size_t i = 0; i < l->size(); ++i) {
        std::string d = (*l)[i];
        std::transform(d.begin(), d.end(), d.begin(),
                       [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
        if (auto p = domain_problem(d)) {
          error(s, where[i], "domains", "invalid domain " + q((*l)[i]) + ": " + *p);
        } else if (!seen.insert(d).second) {
          warn(s, where[i], "domains", q(d) + " is listed twice; the duplicate is ignored");
        } else {
          if (c.acme && d[0] == '*')
            error(s, where[i], "domains",
                  q(d) + ": a wildcard needs the dns-01 challenge, which certhook does not "
                              "answer; list the names instead");
          c.domains.push_back(d);
        }
      }
      if (l->empty() && c.acme)
        error(s, at(*t.get("domains")), "domains",
              "empty; an ACME certificate needs at least one name");
    } else if (!t.get("domains") && c.acme) {
      error(s, c.where, "domains",
            "missing; an ACME certificate needs domains = [\"example.com\", ...] (only a path "
            "source may leave it out)");
    }
    where.clear();
    if (auto l = get_string_list(s, t, "hooks", &where)) {
      std::set<std::string> seen;
      for (std::size_t i = 0; i < l->size(); ++i) {
        const auto &name = (*l)[i];
        if (std::find(hook_names.begin(), hook_names.end(), name) == hook_names.end())
          error(s, where[i], "hooks",
                "unknown hook " + q(name) + did_you_mean(name, hook_names) +
                    (hook_names.empty() ? "; no [[hook]] is defined" : ""));
        else if (!seen.insert(name).second)
          warn(s, where[i], "hooks", q(name) + " is listed twice; it runs once");
        else
          c.hooks.push_back(name);
      }
    }
    if (auto b = get_bool(s, t, "hooks_d")) c.hooks_d = *b;
    if (auto ch = get_table(s, t, "challenge")) c.challenge = load_challenge(s.sub("challenge"), *ch, c.challenge);
    if (auto k = get_key_type(s, t)) c.key_type = *k;
    if (auto d = get_duration(s, t, "renew_before", true)) c.renew_before = *d;
    if (auto b = get_bool(s, t, "reuse_key")) c.reuse_key = *b;
    if (!c.acme)
      for (const char *k : {"challenge", "key_type", "reuse_key"})
        if (const toml::node *n = t.get(k))
          warn(s, at(*n), k, "has no effect for a path source (certhook does not issue it)");
  }
};

}  // namespace

LoadResult load_config_string(std::string_view toml_text, const fs::path &file_for_messages) {
  std::error_code ec;
  fs::path absolute = fs::absolute(file_for_messages, ec);
  if (ec) absolute = file_for_messages;
  Loader loader(file_for_messages.string(), absolute.lexically_normal());
  return loader.load(toml_text);
}

LoadResult load_config(const fs::path &file) {
  LoadResult r;
  auto fail = [&](const std::string &problem) {
    r.fatal.push_back({{file.string(), 0, 0}, "", problem, Severity::error});
    return r;
  };
  std::error_code ec;
  auto st = fs::status(file, ec);
  if (!fs::exists(st))
    return fail("cannot read the configuration: no such file; create it (see "
                "/etc/certhook/certhook.toml.example) or pass --config PATH");
  if (fs::is_directory(st))
    return fail("cannot read the configuration: is a directory; pass the file with --config PATH");
  if (!fs::is_regular_file(st))
    return fail("cannot read the configuration: not a regular file; pass the file with --config PATH");
  if (auto size = fs::file_size(file, ec); !ec && size > (4u << 20))
    return fail("cannot read the configuration: larger than 4 MiB, not a certhook configuration");
  std::ifstream in(file, std::ios::binary);
  if (!in)
    return fail(std::string("cannot read the configuration: ") + std::strerror(errno) +
                "; check its permissions");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return fail("cannot read the configuration: read error");
  return load_config_string(text.str(), file);
}

}  // namespace certhook
