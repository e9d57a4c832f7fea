// Good configurations: every key read, defaults applied, relative paths resolved, plugin options
// kept as a located Value tree in source order.
#include <gtest/gtest.h>

#include "config/names.hpp"
#include "config_test_util.hpp"
#include "tempdir.hpp"

using namespace certhook;
using namespace std::chrono_literals;
using certhook::test::dump;
using certhook::test::load;

TEST(ConfigLoad, EmptyFileGivesDefaults) {
  auto r = load("");
  ASSERT_TRUE(r.config);
  EXPECT_TRUE(r.all().empty()) << dump(r.all());
  const Config &c = *r.config;
  EXPECT_EQ(c.file, "/etc/certhook/certhook.toml");
  EXPECT_EQ(c.certhook.state_dir, "/var/lib/certhook");
  EXPECT_EQ(c.certhook.plugin_dirs, std::vector<fs::path>{"/usr/lib/certhook/plugins"});
  EXPECT_EQ(c.certhook.hooks_dir, "/etc/certhook/hooks.d");
  EXPECT_EQ(c.certhook.max_parallel, 4);
  EXPECT_EQ(c.certhook.hooks_d_timeout, Duration(5min));
  EXPECT_EQ(c.acme.directory, "https://acme-v02.api.letsencrypt.org/directory");
  EXPECT_EQ(c.acme.key_type, KeyType::ecdsa_p256);
  EXPECT_EQ(c.acme.renew_before, Duration(std::chrono::hours(24 * 30)));
  EXPECT_FALSE(c.acme.reuse_key);
  EXPECT_EQ(c.challenge.type, "http-01");
  EXPECT_EQ(c.challenge.mode, ChallengeSettings::Mode::standalone);
  EXPECT_EQ(c.challenge.listen, "0.0.0.0:80");
  EXPECT_TRUE(c.hooks.empty());
  EXPECT_TRUE(c.certificates.empty());
}

TEST(ConfigLoad, FullConfigRoundTrip) {
  auto r = load(R"(
[certhook]
state_dir = "state"
plugin_dirs = ["plugins", "/usr/lib/certhook/plugins"]
hooks_dir = "./hooks.d"
max_parallel = 2
hooks_d_timeout = "1m30s"

[acme]
directory = "https://localhost:14000/dir"
contact = ["mailto:ops@example.com"]
ca_bundle = "pebble/ca.pem"
key_type = "rsa-3072"
renew_before = "20d"
reuse_key = true

[challenge]
type = "http-01"
mode = "webroot"
listen = "127.0.0.1:5002"
webroot = "/srv/www"

[[hook]]
name = "reload-nginx"
type = "nginx"
after = ["copy-files"]
timeout = "2m"
kill_grace = "500ms"
retry = { attempts = 5, delay = "2s", max_delay = "1m" }
on_failure = "stop"
verify = { connect = "[::1]:8443", server_name = "example.com", timeout = "3s" }
[hook.options]
test_config = false
args = ["-p", "/srv/nginx/"]
when = 1979-05-27T07:32:00Z
ratio = 0.5
nested = { depth = 2 }

[[hook]]
name = "copy-files"
type = "exec"
dry_run = true
[hook.options]
command = ["/usr/local/bin/copy-certs", "--to", "/srv/app/tls"]
env = { TOKEN = "s3cret", A_VAR = "1" }
cwd = "work"

[[certificate]]
name = "example.com"
domains = ["example.com", "WWW.example.com"]
hooks = ["copy-files", "reload-nginx"]
hooks_d = false
key_type = "ecdsa-p384"
renew_before = "10d"
reuse_key = false
challenge = { mode = "standalone", listen = "127.0.0.1:5003" }

[[certificate]]
name = "legacy"
source = "../letsencrypt/live/legacy"
hooks = ["reload-nginx"]
)");
  ASSERT_TRUE(r.config);
  ASSERT_TRUE(r.all().empty()) << dump(r.all());
  const Config &c = *r.config;
  EXPECT_EQ(c.certhook.state_dir, "/etc/certhook/state");
  EXPECT_EQ(c.certhook.plugin_dirs,
            (std::vector<fs::path>{"/etc/certhook/plugins", "/usr/lib/certhook/plugins"}));
  EXPECT_EQ(c.certhook.hooks_dir, "/etc/certhook/hooks.d");
  EXPECT_EQ(c.certhook.max_parallel, 2);
  EXPECT_EQ(c.certhook.hooks_d_timeout, Duration(90s));
  EXPECT_EQ(c.acme.directory, "https://localhost:14000/dir");
  EXPECT_EQ(c.acme.contact, std::vector<std::string>{"mailto:ops@example.com"});
  EXPECT_EQ(c.acme.ca_bundle, "/etc/certhook/pebble/ca.pem");
  EXPECT_EQ(c.acme.key_type, KeyType::rsa_3072);
  EXPECT_EQ(c.acme.renew_before, Duration(std::chrono::hours(24 * 20)));
  EXPECT_TRUE(c.acme.reuse_key);
  EXPECT_EQ(c.challenge.mode, ChallengeSettings::Mode::webroot);
  EXPECT_EQ(c.challenge.listen, "127.0.0.1:5002");
  EXPECT_EQ(c.challenge.webroot, "/srv/www");

  ASSERT_EQ(c.hooks.size(), 2u);
  const HookConfig &n = c.hooks[0];
  EXPECT_EQ(n.name, "reload-nginx");
  EXPECT_EQ(n.type, "nginx");
  EXPECT_EQ(n.after, std::vector<std::string>{"copy-files"});
  EXPECT_EQ(n.timeout, Duration(2min));
  EXPECT_EQ(n.kill_grace, Duration(500));
  EXPECT_EQ(n.retry.attempts, 5);
  EXPECT_EQ(n.retry.delay, Duration(2s));
  EXPECT_EQ(n.retry.max_delay, Duration(1min));
  EXPECT_TRUE(n.stop_on_failure);
  EXPECT_FALSE(n.dry_run);
  ASSERT_TRUE(n.verify);
  EXPECT_EQ(n.verify->connect, "[::1]:8443");
  EXPECT_EQ(n.verify->server_name, "example.com");
  EXPECT_EQ(n.verify->timeout, Duration(3s));
  EXPECT_EQ(n.where.line, 22);
  // Plugin options: a located Value tree in source order.
  ASSERT_EQ(n.options.kind, Value::Kind::table);
  ASSERT_EQ(n.options.fields.size(), 5u);
  EXPECT_EQ(n.options.fields[0].first, "test_config");
  EXPECT_EQ(n.options.fields[1].first, "args");
  EXPECT_EQ(n.options.fields[4].first, "nested");
  const Value *tc = n.options.find("test_config");
  ASSERT_TRUE(tc);
  EXPECT_EQ(tc->kind, Value::Kind::boolean);
  EXPECT_FALSE(tc->boolean);
  EXPECT_EQ(tc->where.line, 32);
  EXPECT_EQ(tc->where.column, 15);
  const Value *args = n.options.find("args");
  ASSERT_TRUE(args);
  ASSERT_EQ(args->items.size(), 2u);
  EXPECT_EQ(args->items[1].text, "/srv/nginx/");
  EXPECT_EQ(args->items[1].where.column, 15);
  EXPECT_EQ(n.options.find("when")->kind, Value::Kind::datetime);
  EXPECT_EQ(n.options.find("when")->text, "1979-05-27T07:32:00Z");
  EXPECT_DOUBLE_EQ(n.options.find("ratio")->floating, 0.5);
  EXPECT_EQ(n.options.find("nested")->find("depth")->integer, 2);

  const HookConfig &x = c.hooks[1];
  EXPECT_EQ(x.type, "exec");
  EXPECT_TRUE(x.dry_run);
  EXPECT_EQ(x.command,
            (std::vector<std::string>{"/usr/local/bin/copy-certs", "--to", "/srv/app/tls"}));
  EXPECT_EQ(x.env, (std::vector<std::pair<std::string, std::string>>{{"A_VAR", "1"},
                                                                      {"TOKEN", "s3cret"}}));
  EXPECT_EQ(x.cwd, "/etc/certhook/work");
  EXPECT_EQ(x.timeout, Duration(5min));     // defaults
  EXPECT_EQ(x.kill_grace, Duration(5s));
  EXPECT_EQ(x.retry.attempts, 3);
  EXPECT_FALSE(x.stop_on_failure);
  EXPECT_FALSE(x.verify);
  EXPECT_TRUE(x.options.find("command"));   // kept in options too

  ASSERT_EQ(c.certificates.size(), 2u);
  const CertificateConfig &e = c.certificates[0];
  EXPECT_EQ(e.name, "example.com");
  EXPECT_EQ(e.domains, (std::vector<std::string>{"example.com", "www.example.com"}));
  EXPECT_EQ(e.hooks, (std::vector<std::string>{"copy-files", "reload-nginx"}));
  EXPECT_FALSE(e.hooks_d);
  EXPECT_TRUE(e.acme);
  EXPECT_EQ(e.key_type, KeyType::ecdsa_p384);
  EXPECT_EQ(e.renew_before, Duration(std::chrono::hours(24 * 10)));
  EXPECT_FALSE(e.reuse_key);
  // The override merges over [challenge].
  EXPECT_EQ(e.challenge.mode, ChallengeSettings::Mode::standalone);
  EXPECT_EQ(e.challenge.listen, "127.0.0.1:5003");
  EXPECT_EQ(e.challenge.webroot, "/srv/www");

  const CertificateConfig &l = c.certificates[1];
  EXPECT_FALSE(l.acme);
  EXPECT_EQ(l.source, "/etc/letsencrypt/live/legacy");
  EXPECT_TRUE(l.domains.empty());
  EXPECT_TRUE(l.hooks_d);
  EXPECT_EQ(l.key_type, KeyType::rsa_3072);   // inherited from [acme]
  EXPECT_EQ(l.renew_before, Duration(std::chrono::hours(24 * 20)));
  EXPECT_TRUE(l.reuse_key);
  EXPECT_EQ(l.source_where.line, 59);
  EXPECT_EQ(l.source_where.column, 10);

  EXPECT_EQ(c.find_hook("copy-files"), &c.hooks[1]);
  EXPECT_EQ(c.find_certificate("legacy"), &c.certificates[1]);
  EXPECT_EQ(c.find_hook("nope"), nullptr);
}

TEST(ConfigLoad, PathSourceWarnsAboutAcmeOnlyOverrides) {
  auto r = load(R"(
[[certificate]]
name = "legacy"
source = "/etc/letsencrypt/live/legacy"
key_type = "rsa-2048"
)");
  ASSERT_TRUE(r.config);
  EXPECT_TRUE(r.fatal.empty());
  EXPECT_TRUE(r.config->certificates[0].errors.empty()) << dump(r.config->certificates[0].errors);
  ASSERT_EQ(r.warnings.size(), 1u) << dump(r.warnings);
  EXPECT_EQ(r.warnings[0].where.line, 4);
  EXPECT_EQ(r.warnings[0].severity, Severity::warning);
  EXPECT_NE(r.warnings[0].message.find("no effect for a path source"), std::string::npos);
}

TEST(ConfigLoad, LoadsFromFileAndResolvesAgainstItsDirectory) {
  certhook::test::TempDir dir;
  certhook::test::write_text(dir / "etc/certhook.toml", "[certhook]\nstate_dir = \"../var/state\"\n");
  auto r = load_config(dir / "etc/certhook.toml");
  ASSERT_TRUE(r.config) << dump(r.fatal);
  EXPECT_EQ(r.config->file, dir / "etc/certhook.toml");
  EXPECT_EQ(r.config->certhook.state_dir, dir / "var/state");
}

TEST(ConfigLoad, DirectoryInsteadOfFileIsRefused) {
  certhook::test::TempDir dir;
  auto r = load_config(dir.path());
  EXPECT_FALSE(r.config);
  ASSERT_EQ(r.fatal.size(), 1u);
  EXPECT_NE(r.fatal[0].message.find("is a directory"), std::string::npos);
  r = load_config("/dev/zero");   // would never end if read
  EXPECT_FALSE(r.config);
  ASSERT_EQ(r.fatal.size(), 1u);
  EXPECT_NE(r.fatal[0].message.find("not a regular file"), std::string::npos);
}

TEST(ConfigNames, ValidName) {
  EXPECT_TRUE(valid_name("example.com"));
  EXPECT_TRUE(valid_name("reload-nginx_2"));
  EXPECT_TRUE(valid_name("0"));
  EXPECT_FALSE(valid_name(""));
  EXPECT_FALSE(valid_name("../x"));
  EXPECT_FALSE(valid_name("a..b"));
  EXPECT_FALSE(valid_name(".hidden"));
  EXPECT_FALSE(valid_name("-x"));
  EXPECT_FALSE(valid_name("A"));
  EXPECT_FALSE(valid_name("a/b"));
  EXPECT_FALSE(valid_name("a b"));
}

TEST(ConfigNames, Domains) {
  EXPECT_FALSE(domain_problem("example.com"));
  EXPECT_FALSE(domain_problem("*.example.com"));
  EXPECT_FALSE(domain_problem("xn--bcher-kva.example"));
  EXPECT_FALSE(domain_problem("localhost"));
  EXPECT_TRUE(domain_problem("a.*.example.com"));
  EXPECT_TRUE(domain_problem("*example.com"));
  EXPECT_TRUE(domain_problem("example.com."));
  EXPECT_TRUE(domain_problem("exa_mple.com"));
  EXPECT_TRUE(domain_problem(std::string(64, 'a') + ".com"));
  EXPECT_FALSE(domain_problem(std::string(63, 'a') + ".com"));
  std::string long_name;
  for (int i = 0; i < 5; ++i) long_name += std::string(60, 'a') + ".";
  long_name += "com";
  EXPECT_TRUE(domain_problem(long_name));   // 308 characters
}
