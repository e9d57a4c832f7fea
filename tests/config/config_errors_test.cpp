// Malformed configurations: each error at its exact line and column, with its key and message,
// and classified per DESIGN §5 (fatal, confined to one hook, confined to one certificate).
#include <gtest/gtest.h>

#include "config_test_util.hpp"

using namespace certhook;
using certhook::test::dump;
using certhook::test::has;
using certhook::test::load;

namespace {

const HookConfig &hook(const LoadResult &r, std::size_t i) { return r.config->hooks.at(i); }
const CertificateConfig &cert(const LoadResult &r, std::size_t i) {
  return r.config->certificates.at(i);
}

}  // namespace

TEST(ConfigErrors, SyntaxErrorStopsParsing) {
  auto r = load(R"(
[acme]
directory = "https://example.test/dir"
renew_before = "30d
[certhook]
max_parallel = "x"
)");
  EXPECT_FALSE(r.config.has_value());
  ASSERT_EQ(r.fatal.size(), 1u) << dump(r.fatal);   // nothing after the syntax error is checked
  // toml++ points at the end of the line, where the closing quote is missing.
  EXPECT_TRUE(has(r.fatal, 3, 20, "", "TOML syntax error: Error while parsing string"));
  EXPECT_EQ(r.fatal[0].where.file, "/etc/certhook/certhook.toml");
}

TEST(ConfigErrors, UnknownKeyWithSuggestion) {
  auto r = load(R"(
[certhook]
state_dri = "/srv/certhook"
)");
  ASSERT_EQ(r.all().size(), 1u) << dump(r.all());
  EXPECT_TRUE(has(r.fatal, 2, 1, "certhook.state_dri",
                  "unknown key \"state_dri\"; did you mean \"state_dir\"?"));
}

TEST(ConfigErrors, UnknownTableWithSuggestion) {
  auto r = load(R"(
[[hooks]]
name = "a"
)");
  ASSERT_EQ(r.all().size(), 1u) << dump(r.all());
  EXPECT_TRUE(has(r.fatal, 1, 3, "hooks", "did you mean \"hook\"?"));
}

TEST(ConfigErrors, UnknownHookKeyIsConfinedToTheHook) {
  auto r = load(R"(
[[hook]]
name = "a"
type = "nginx"
retyr = { attempts = 2 }
)");
  EXPECT_TRUE(r.fatal.empty()) << dump(r.fatal);
  EXPECT_TRUE(has(hook(r, 0).errors, 4, 1, "hook.a.retyr", "did you mean \"retry\"?"));
}

TEST(ConfigErrors, WrongTypeString) {
  auto r = load(R"(
[acme]
directory = 5
)");
  ASSERT_EQ(r.all().size(), 1u) << dump(r.all());
  EXPECT_TRUE(has(r.fatal, 2, 13, "acme.directory", "expected a string, found integer"));
}

TEST(ConfigErrors, WrongTypeInteger) {
  auto r = load(R"(
[certhook]
max_parallel = "4"
)");
  EXPECT_TRUE(has(r.fatal, 2, 16, "certhook.max_parallel", "expected an integer, found string"));
}

TEST(ConfigErrors, DurationWithoutUnit) {
  auto r = load(R"(
[acme]
renew_before = "5"
)");
  ASSERT_EQ(r.all().size(), 1u) << dump(r.all());
  EXPECT_TRUE(has(r.fatal, 2, 16, "acme.renew_before", "\"5\" has a number without a unit"));
}

TEST(ConfigErrors, DurationUnknownUnit) {
  auto r = load(R"(
[[hook]]
name = "a"
type = "nginx"
timeout = "5x"
)");
  EXPECT_TRUE(r.fatal.empty()) << dump(r.fatal);
  EXPECT_TRUE(has(hook(r, 0).errors, 4, 11, "hook.a.timeout", "unknown unit \"x\""));
}

TEST(ConfigErrors, DurationNegative) {
  auto r = load(R"(
[[hook]]
name = "a"
type = "nginx"
retry = { attempts = 2, delay = "-1s" }
)");
  EXPECT_TRUE(has(hook(r, 0).errors, 4, 33, "hook.a.retry.delay", "\"-1s\" is not a duration"));
}

TEST(ConfigErrors, DurationAsInteger) {
  auto r = load(R"(
[certhook]
hooks_d_timeout = 5
)");
  EXPECT_TRUE(has(r.fatal, 2, 19, "certhook.hooks_d_timeout",
                  "expected a duration string such as \"30s\" or \"5m\", found integer; write the "
                  "unit too, e.g. \"5s\""));
}

TEST(ConfigErrors, DuplicateHookName) {
  auto r = load(R"(
[[hook]]
name = "a"
type = "nginx"

[[hook]]
name = "a"
type = "exec"
options = { command = ["/bin/true"] }
)");
  ASSERT_EQ(r.all().size(), 1u) << dump(r.all());
  EXPECT_TRUE(has(r.fatal, 6, 8, "hook.a.name",
                  "duplicate hook name \"a\" (first defined at line 1)"));
}

TEST(ConfigErrors, DuplicateCertificateName) {
  auto r = load(R"(
[[certificate]]
name = "example.com"
domains = ["example.com"]
[[certificate]]
name = "example.com"
domains = ["www.example.com"]
)");
  EXPECT_TRUE(has(r.fatal, 5, 8, "certificate.example.com.name",
                  "duplicate certificate name \"example.com\" (first defined at line 1)"));
}

TEST(ConfigErrors, UnknownHookInCertificateHooks) {
  auto r = load(R"(
[[hook]]
name = "reload-nginx"
type = "nginx"

[[certificate]]
name = "example.com"
domains = ["example.com"]
hooks = ["reload-ngnix"]
)");
  EXPECT_TRUE(r.fatal.empty()) << dump(r.fatal);   // confined to the certificate
  ASSERT_EQ(r.all().size(), 1u) << dump(r.all());
  EXPECT_TRUE(has(cert(r, 0).errors, 8, 10, "certificate.example.com.hooks",
                  "unknown hook \"reload-ngnix\"; did you mean \"reload-nginx\"?"));
}

TEST(ConfigErrors, UnknownHookInAfterIsFatal) {
  auto r = load(R"(
[[hook]]
name = "copy-files"
type = "exec"
options = { command = ["/bin/true"] }

[[hook]]
name = "reload"
type = "nginx"
after = ["copy-file"]
)");
  ASSERT_EQ(r.all().size(), 1u) << dump(r.all());
  EXPECT_TRUE(has(r.fatal, 9, 10, "hook.reload.after",
                  "unknown hook \"copy-file\"; did you mean \"copy-files\"?"));
}

TEST(ConfigErrors, UnknownHookInBeforeIsFatal) {
  auto r = load(R"(
[[hook]]
name = "a"
type = "nginx"
before = ["zzz"]
)");
  EXPECT_TRUE(has(r.fatal, 4, 11, "hook.a.before", "unknown hook \"zzz\""));
}

TEST(ConfigErrors, CycleWithItsPath) {
  auto r = load(R"(
[[hook]]
name = "a"
type = "nginx"
before = ["b"]

[[hook]]
name = "b"
type = "nginx"

[[hook]]
name = "c"
type = "nginx"
after = ["b"]
before = ["a"]
)");
  ASSERT_EQ(r.fatal.size(), 1u) << dump(r.fatal);
  // The cycle starts at the first hook; the a -> b edge is declared at line 4.
  EXPECT_TRUE(has(r.fatal, 4, 11, "hook.a", "ordering cycle: a -> b -> c -> a"));
}

TEST(ConfigErrors, SelfCycle) {
  auto r = load(R"(
[[hook]]
name = "x"
type = "nginx"
after = ["x"]
)");
  EXPECT_TRUE(has(r.fatal, 4, 10, "hook.x", "ordering cycle: x -> x"));
}

TEST(ConfigErrors, BadCertificateName) {
  auto r = load(R"(
[[certificate]]
name = "../x"
domains = ["example.com"]
)");
  EXPECT_TRUE(r.fatal.empty()) << dump(r.fatal);
  ASSERT_EQ(r.all().size(), 1u) << dump(r.all());
  EXPECT_TRUE(has(cert(r, 0).errors, 2, 8, "certificate[1].name",
                  "invalid certificate name \"../x\""));
  EXPECT_EQ(cert(r, 0).name, "");
}

TEST(ConfigErrors, BadHookName) {
  auto r = load(R"(
[[hook]]
name = "Reload Nginx"
type = "nginx"
)");
  EXPECT_TRUE(has(hook(r, 0).errors, 2, 8, "hook[1].name", "invalid hook name \"Reload Nginx\""));
}

TEST(ConfigErrors, EmptyCommand) {
  auto r = load(R"(
[[hook]]
name = "copy"
type = "exec"
[hook.options]
command = []
)");
  EXPECT_TRUE(r.fatal.empty()) << dump(r.fatal);
  ASSERT_EQ(r.all().size(), 1u) << dump(r.all());
  EXPECT_TRUE(has(hook(r, 0).errors, 5, 11, "hook.copy.options.command", "empty; give the program"));
}

TEST(ConfigErrors, MissingCommandAndMisplacedCommand) {
  auto r = load(R"(
[[hook]]
name = "copy"
type = "exec"
command = ["/bin/true"]
)");
  const auto &e = hook(r, 0).errors;
  EXPECT_TRUE(has(e, 4, 1, "hook.copy.command", "exec options go in [hook.options]"));
  EXPECT_TRUE(has(e, 1, 1, "hook.copy.options.command", "missing; an exec hook needs"));
}

TEST(ConfigErrors, CommandAsString) {
  auto r = load(R"(
[[hook]]
name = "copy"
type = "exec"
options = { command = "/bin/copy --all" }
)");
  EXPECT_TRUE(has(hook(r, 0).errors, 4, 23, "hook.copy.options.command",
                  "expected an array of strings, found string; write command = [\"/bin/copy --all\"]"));
}

TEST(ConfigErrors, BadKeyTypeGlobalIsFatal) {
  auto r = load(R"(
[acme]
key_type = "ecdsa-p265"
)");
  EXPECT_TRUE(has(r.fatal, 2, 12, "acme.key_type",
                  "unknown key type \"ecdsa-p265\"; did you mean \"ecdsa-p256\"?"));
}

TEST(ConfigErrors, BadKeyTypeOverrideIsConfinedToTheCertificate) {
  auto r = load(R"(
[[certificate]]
name = "a.example"
domains = ["a.example"]
key_type = "dsa"
)");
  EXPECT_TRUE(r.fatal.empty()) << dump(r.fatal);
  EXPECT_TRUE(has(cert(r, 0).errors, 4, 12, "certificate.a.example.key_type",
                  "unknown key type \"dsa\"; use one of ecdsa-p256"));
}

TEST(ConfigErrors, InvalidDomains) {
  auto r = load(R"(
[[certificate]]
name = "a"
domains = ["ex!ample.com", "*.example.com", "a..b", "-a.example", "1.2.3.4"]
)");
  const auto &e = cert(r, 0).errors;
  ASSERT_EQ(e.size(), 5u) << dump(e);
  EXPECT_TRUE(has(e, 3, 12, "certificate.a.domains", "contains '!'"));
  EXPECT_TRUE(has(e, 3, 28, "certificate.a.domains", "a wildcard needs the dns-01 challenge"));
  EXPECT_TRUE(has(e, 3, 45, "certificate.a.domains", "empty label"));
  EXPECT_TRUE(has(e, 3, 53, "certificate.a.domains", "starts or ends with '-'"));
  EXPECT_TRUE(has(e, 3, 67, "certificate.a.domains", "looks like an IP address"));
}

TEST(ConfigErrors, DomainsMissingForAcmeSource) {
  auto r = load(R"(
[[certificate]]
name = "a"
)");
  EXPECT_TRUE(has(cert(r, 0).errors, 1, 1, "certificate.a.domains", "missing"));
}

TEST(ConfigErrors, BadValues) {
  auto r = load(R"(
[challenge]
mode = "webroof"
listen = "0.0.0.0"

[[hook]]
name = "h"
type = "nginx"
on_failure = "abort"
retry = { attempts = 0 }
verify = { connect = "localhost", timeout = "0s" }
)");
  EXPECT_TRUE(has(r.fatal, 2, 8, "challenge.mode", "unknown mode \"webroof\""));
  EXPECT_TRUE(has(r.fatal, 3, 10, "challenge.listen", "has no port"));
  const auto &e = hook(r, 0).errors;
  EXPECT_TRUE(has(e, 8, 14, "hook.h.on_failure", "use \"continue\" or \"stop\""));
  EXPECT_TRUE(has(e, 9, 22, "hook.h.retry.attempts", "0 is out of range; use 1 to 100"));
  EXPECT_TRUE(has(e, 10, 22, "hook.h.verify.connect", "\"localhost\" has no port"));
  EXPECT_TRUE(has(e, 10, 45, "hook.h.verify.timeout", "must be longer than 0s"));
  EXPECT_FALSE(hook(r, 0).verify.has_value());
}

TEST(ConfigErrors, HookWrittenAsSingleTable) {
  auto r = load(R"(
[hook]
name = "a"
)");
  EXPECT_TRUE(has(r.fatal, 1, 1, "hook",
                  "expected an array of tables, found table; write [[hook]] (double brackets)"));
}

TEST(ConfigErrors, SeveralErrorsReportedTogetherInLineOrder) {
  auto r = load(R"(
[[certificate]]
name = "example.com"
domains = ["example.com"]
hooks = ["nope"]

[acme]
renew_before = "1x"

[[hook]]
name = "a"
type = "exec"
options = { command = [] }

[certhook]
max_parallel = 0
)");
  auto all = r.all();
  ASSERT_EQ(all.size(), 4u) << dump(all);
  EXPECT_EQ(all[0].where.line, 4);
  EXPECT_EQ(all[0].key, "certificate.example.com.hooks");
  EXPECT_EQ(all[1].where.line, 7);
  EXPECT_EQ(all[1].key, "acme.renew_before");
  EXPECT_EQ(all[2].where.line, 12);
  EXPECT_EQ(all[2].key, "hook.a.options.command");
  EXPECT_EQ(all[3].where.line, 15);
  EXPECT_EQ(all[3].key, "certhook.max_parallel");
  // Classified: globals are fatal, the rest confined to their hook or certificate.
  EXPECT_EQ(r.fatal.size(), 2u) << dump(r.fatal);
  EXPECT_EQ(hook(r, 0).errors.size(), 1u);
  EXPECT_EQ(cert(r, 0).errors.size(), 1u);
  EXPECT_EQ(all[0].to_string(),
            "/etc/certhook/certhook.toml:4:10: certificate.example.com.hooks: unknown hook \"nope\"");
}

TEST(ConfigErrors, ContactNeedsMailto) {
  auto r = load(R"(
[acme]
contact = ["ops@example.com"]
)");
  EXPECT_TRUE(has(r.fatal, 2, 12, "acme.contact", "write \"mailto:ops@example.com\""));
}

TEST(ConfigErrors, ExecEnvMustBeStrings) {
  auto r = load(R"(
[[hook]]
name = "e"
type = "exec"
[hook.options]
command = ["/bin/true"]
env = { TOKEN = 5, "BAD-NAME" = "x" }
)");
  const auto &e = hook(r, 0).errors;
  EXPECT_TRUE(has(e, 6, 17, "hook.e.options.env.TOKEN", "expected a string, found integer"));
  EXPECT_TRUE(has(e, 6, 20, "hook.e.options.env.BAD-NAME", "invalid environment variable name"));
}

TEST(ConfigErrors, MissingFileNamesThePath) {
  auto r = load_config("/nonexistent/certhook.toml");
  EXPECT_FALSE(r.config.has_value());
  ASSERT_EQ(r.fatal.size(), 1u);
  EXPECT_EQ(r.fatal[0].where.file, "/nonexistent/certhook.toml");
  EXPECT_NE(r.fatal[0].message.find("no such file"), std::string::npos) << r.fatal[0].message;
}

TEST(ConfigErrors, TwoSeparateCyclesEachReportedOnce) {
  auto r = load(R"(
[[hook]]
name = "a"
type = "nginx"
after = ["b"]
[[hook]]
name = "b"
type = "nginx"
after = ["a"]
[[hook]]
name = "c"
type = "nginx"
after = ["c", "a"]
[[hook]]
name = "d"
type = "nginx"
after = ["a", "b", "c"]
)");
  ASSERT_EQ(r.fatal.size(), 2u) << dump(r.fatal);
  EXPECT_TRUE(has(r.fatal, 8, 10, "hook.a", "ordering cycle: a -> b -> a"));
  EXPECT_TRUE(has(r.fatal, 12, 10, "hook.c", "ordering cycle: c -> c"));
}

TEST(ConfigErrors, OrderingWithoutCycleIsFine) {
  auto r = load(R"(
[[hook]]
name = "a"
type = "nginx"
before = ["c"]
[[hook]]
name = "b"
type = "nginx"
after = ["a"]
before = ["c"]
[[hook]]
name = "c"
type = "nginx"
)");
  EXPECT_TRUE(r.all().empty()) << dump(r.all());
}

TEST(ConfigErrors, VerifyServerNameAndOptionsType) {
  auto r = load(R"(
[[hook]]
name = "x"
type = "exec"
options = "command"
verify = { connect = "127.0.0.1:443", server_name = "*.example.com" }
)");
  const auto &e = hook(r, 0).errors;
  ASSERT_EQ(e.size(), 2u) << dump(e);
  EXPECT_TRUE(has(e, 4, 11, "hook.x.options", "expected a table, found string"));
  EXPECT_TRUE(has(e, 5, 53, "hook.x.verify.server_name", "a wildcard cannot be sent as SNI"));
}
