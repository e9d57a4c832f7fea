// Typed options: every error kind, located, all at once; defaults; secrets never shown.
#include <gtest/gtest.h>

#include "plugin/options.hpp"

using namespace certhook;

namespace {

const std::string conf = "/etc/certhook/certhook.toml";

// A tiny test-only builder of located Values (what the config loader produces).
Value at(Value v, int line, int column = 11) {
  v.where = {conf, line, column};
  return v;
}
Value str(std::string s, int line) {
  Value v;
  v.kind = Value::Kind::string;
  v.text = std::move(s);
  return at(v, line);
}
Value integer(std::int64_t n, int line) {
  Value v;
  v.kind = Value::Kind::integer;
  v.integer = n;
  return at(v, line);
}
Value boolean(bool b, int line) {
  Value v;
  v.kind = Value::Kind::boolean;
  v.boolean = b;
  return at(v, line);
}
Value array(std::vector<Value> items, int line) {
  Value v;
  v.kind = Value::Kind::array;
  v.items = std::move(items);
  return at(v, line);
}
Value table(std::vector<std::pair<std::string, Value>> fields, int line, int column = 1) {
  Value v;
  v.kind = Value::Kind::table;
  v.fields = std::move(fields);
  return at(v, line, column);
}

OptionSpec spec(std::string key, OptionType t, bool required = false, std::optional<std::string> def = {},
                bool secret = false) {
  return OptionSpec{std::move(key), t, required, secret, std::move(def), "help for it"};
}

PluginInfo recorder() {
  PluginInfo p;
  p.name = "recorder";
  p.file = "/usr/lib/certhook/plugins/recorder.so";
  p.options = {spec("record", OptionType::path, true),
               spec("count", OptionType::integer, false, "3"),
               spec("flag", OptionType::boolean, false, "true"),
               spec("wait", OptionType::duration, false, "\"1m30s\""),
               spec("url", OptionType::url),
               spec("tags", OptionType::string_list, false, "[\"a\", \"b\"]"),
               spec("env", OptionType::table, false, "{ LANG = \"C\" }"),
               spec("token", OptionType::string, false, {}, true),
               spec("api_url", OptionType::url, false, {}, true),
               spec("api_wait", OptionType::duration, false, {}, true)};
  return p;
}

HookConfig hook(Value options) {
  HookConfig h;
  h.name = "rec";
  h.type = "recorder";
  h.where = {conf, 10, 1};
  h.options = std::move(options);
  return h;
}

std::vector<std::string> lines(const Diagnostics &ds) {
  std::vector<std::string> out;
  for (const auto &d : ds) out.push_back(d.to_string());
  return out;
}

}  // namespace

TEST(PluginOptions, TypesValuesAndAppliesDefaults) {
  auto h = hook(table({{"record", str("out/record.txt", 14)},
                       {"wait", str("2m", 15)},
                       {"url", str("https://hooks.example.com:8443/x?y=1", 16)},
                       {"tags", array({str("x", 17), str("y", 17)}, 17)},
                       {"token", str("s3cret", 18)}},
                      13));
  TypedOptions t = type_options(h, recorder(), conf);
  ASSERT_TRUE(t.ok()) << lines(t.problems).front();
  EXPECT_EQ(t.options, nlohmann::json({{"record", "/etc/certhook/out/record.txt"},
                                       {"count", 3},
                                       {"flag", true},
                                       {"wait", 120000},
                                       {"url", "https://hooks.example.com:8443/x?y=1"},
                                       {"tags", {"x", "y"}},
                                       {"env", {{"LANG", "C"}}},
                                       {"token", "s3cret"}}));
}

TEST(PluginOptions, EveryProblemLocatedAndAllAtOnce) {
  auto h = hook(table({{"count", str("5", 14)},
                       {"flga", boolean(false, 15)},
                       {"wait", str("5x", 16)},
                       {"url", str("ftp://example.com", 17)},
                       {"tags", array({str("x", 18), integer(2, 18)}, 18)},
                       {"env", table({{"A", integer(1, 19)}}, 19, 7)},
                       {"frobnicate", integer(1, 20)}},
                      13));
  TypedOptions t = type_options(h, recorder(), conf);
  EXPECT_EQ(lines(t.problems),
            (std::vector<std::string>{
                conf + ":13:1: hook.rec.options.record: missing required option \"record\" (path) of plugin "
                       "recorder: help for it; add record = ... under [hook.options]",
                conf + ":14:11: hook.rec.options.count: expected an integer, found a string",
                conf + ":15:11: hook.rec.options.flga: unknown option \"flga\" for plugin recorder; did you mean \"flag\"?",
                conf + ":16:11: hook.rec.options.wait: \"5x\" has unknown unit \"x\"; use ms, s, m, h or d",
                conf + ":17:11: hook.rec.options.url: \"ftp://example.com\" is not a valid URL: it must start with "
                       "http:// or https://",
                conf + ":18:11: hook.rec.options.tags: item 2: expected a string, found an integer",
                conf + ":19:11: hook.rec.options.env: \"A\": expected a string, found an integer",
                conf + ":20:11: hook.rec.options.frobnicate: unknown option \"frobnicate\" for plugin recorder; its "
                       "options are: record, count, flag, wait, url, tags, env, token, api_url, api_wait",
            }));
}

TEST(PluginOptions, UrlNeedsAHostAndAValidPort) {
  for (const char *bad : {"https://", "https:///path", "http://:80/", "https://host:99999/", "https://ho st/"}) {
    auto t = type_options(hook(table({{"record", str("/r", 14)}, {"url", str(bad, 15)}}, 13)), recorder(), conf);
    ASSERT_EQ(t.problems.size(), 1u) << bad;
    EXPECT_EQ(t.problems[0].key, "hook.rec.options.url");
  }
  for (const char *good : {"http://localhost", "https://[::1]:8443/p", "https://user@example.com/x#f"})
    EXPECT_FALSE(url_problem(good)) << good << ": " << *url_problem(good);
}

TEST(PluginOptions, SecretValuesNeverAppearInMessages) {
  auto h = hook(table({{"record", str("/r", 14)},
                       {"token", integer(987654321, 15)},
                       {"api_url", str("ftp://topsecret.example", 16)},
                       {"api_wait", str("hunter2", 17)}},
                      13));
  TypedOptions t = type_options(h, recorder(), conf);
  ASSERT_EQ(t.problems.size(), 3u);
  for (const auto &line : lines(t.problems)) {
    EXPECT_EQ(line.find("987654321"), std::string::npos) << line;
    EXPECT_EQ(line.find("topsecret"), std::string::npos) << line;
    EXPECT_EQ(line.find("hunter2"), std::string::npos) << line;
  }
  EXPECT_EQ(t.problems[1].message, "not a valid URL (value not shown: the option is secret): it must start with "
                                   "http:// or https://");
}

TEST(PluginOptions, RedactHidesSecretValues) {
  nlohmann::json typed = {{"record", "/r"}, {"token", "s3cret"}, {"count", 3}};
  auto shown = redact(typed, recorder().options);
  EXPECT_EQ(shown, nlohmann::json({{"record", "/r"}, {"token", "********"}, {"count", 3}}));
  EXPECT_EQ(shown.dump().find("s3cret"), std::string::npos);
}

TEST(PluginOptions, OptionsThatAreNotATableAndEmptyTables) {
  Value not_table = str("x", 13);
  auto t = type_options(hook(not_table), recorder(), conf);
  ASSERT_EQ(t.problems.size(), 1u);
  EXPECT_EQ(t.problems[0].to_string(), conf + ":13:11: hook.rec.options: expected a table of options, found a string");

  Value empty;
  empty.kind = Value::Kind::table;   // absent [hook.options]: no location, reported at the hook
  t = type_options(hook(empty), recorder(), conf);
  ASSERT_EQ(t.problems.size(), 1u);
  EXPECT_EQ(t.problems[0].where.line, 10);
}

TEST(PluginOptions, BadDefaultFromThePluginIsReported) {
  PluginInfo p = recorder();
  p.options = {spec("wait", OptionType::duration, false, "\"soon\""), spec("n", OptionType::integer, false, "[1")};
  Value empty;
  empty.kind = Value::Kind::table;
  auto t = type_options(hook(empty), p, conf);
  ASSERT_EQ(t.problems.size(), 2u);
  EXPECT_NE(t.problems[0].message.find("declares a bad default \"soon\""), std::string::npos) << t.problems[0].message;
  EXPECT_NE(t.problems[1].message.find("declares a bad default [1"), std::string::npos) << t.problems[1].message;
}

TEST(PluginOptions, CheckPluginHooksFlagsUnknownTypesWithASuggestion) {
  Config config;
  config.file = conf;
  Catalog catalog;
  PluginInfo nginx;
  nginx.name = "nginx";
  catalog.plugins = {nginx, recorder()};
  HookConfig typo = hook(table({}, 0));
  typo.name = "reload";
  typo.type = "ngnix";
  HookConfig exec = hook(table({{"command", array({str("/bin/true", 21)}, 21)}}, 20));
  exec.type = "exec";
  HookConfig far = typo;
  far.type = "zzzzzzzz";
  HookConfig rec = hook(table({{"count", str("x", 31)}}, 30));
  config.hooks = {typo, exec, far, rec};
  catalog.problems.push_back(Diagnostic{{"/usr/lib/certhook/plugins/x.so"}, "", "not a shared library"});
  auto ds = check_plugin_hooks(config, catalog);
  EXPECT_EQ(lines(ds), (std::vector<std::string>{
                           "/usr/lib/certhook/plugins/x.so: not a shared library",
                           conf + ":10:1: hook.reload.type: unknown hook type \"ngnix\" (installed plugins: nginx, "
                                  "recorder); did you mean \"nginx\"?",
                           conf + ":10:1: hook.reload.type: unknown hook type \"zzzzzzzz\" (installed plugins: "
                                  "nginx, recorder); use \"exec\" or install the plugin with certhook plugin install FILE",
                           conf + ":30:1: hook.rec.options.record: missing required option \"record\" (path) of "
                                  "plugin recorder: help for it; add record = ... under [hook.options]",
                           conf + ":31:11: hook.rec.options.count: expected an integer, found a string",
                       }));
}

TEST(PluginOptions, ClosestName) {
  EXPECT_EQ(closest_name("tset_config", {"binary", "test_config"}), "test_config");
  EXPECT_EQ(closest_name("xyz", {"binary", "test_config"}), std::nullopt);
}

TEST(PluginOptions, ResolvePluginHookForTheExecutor) {
  Catalog catalog;
  catalog.plugins = {recorder()};
  auto ok = resolve_plugin_hook(hook(table({{"record", str("rec.txt", 14)}}, 13)), catalog, conf);
  ASSERT_NE(ok.plugin, nullptr);
  EXPECT_TRUE(ok.errors.empty());
  EXPECT_EQ(ok.options["record"], "/etc/certhook/rec.txt");
  EXPECT_EQ(ok.options["wait"], 90000);

  auto bad = resolve_plugin_hook(hook(table({{"count", str("x", 14)}}, 13)), catalog, conf);
  EXPECT_EQ(bad.errors.size(), 2u);

  HookConfig unknown = hook(table({}, 0));
  unknown.type = "recordr";
  auto missing = resolve_plugin_hook(unknown, catalog, conf);
  EXPECT_EQ(missing.plugin, nullptr);
  EXPECT_EQ(missing.errors, std::vector<std::string>{conf + ":10:1: hook.rec.type: unknown hook type \"recordr\" "
                                                             "(installed plugins: recorder); did you mean \"recorder\"?"});
}
