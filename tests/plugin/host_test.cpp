// Each fixture's exact behaviour through the real certhook-plugin-host.
#include <gtest/gtest.h>
#include <signal.h>

#include "support.hpp"
#include "tempdir.hpp"

using namespace certhook;
using certhook::test::fixture;
using certhook::test::read_text;
using certhook::test::run_host;
using certhook::test::TempDir;
using certhook::test::write_text;

namespace {

std::string describe_error(const std::filesystem::path &file) {
  CapturedRun r = run_host({"describe", file.string()});
  EXPECT_TRUE(r.started) << r.error;
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  EXPECT_TRUE(j.is_object() && j.contains("error")) << r.out;
  return j.is_object() ? j.value("error", "") : "";
}

struct Call {
  CapturedRun run;
  nlohmann::json result;   // null when no result file was written
};

Call call(const std::string &plugin, const std::string &verb, const nlohmann::json &req, const TempDir &dir,
          std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
  auto req_file = dir / "request.json", result_file = dir / "result.json";
  std::filesystem::remove(result_file);
  write_text(req_file, req.dump());
  Call c;
  c.run = run_host({"call", fixture(plugin).string(), verb, req_file.string(), result_file.string()}, timeout);
  if (std::filesystem::exists(result_file)) c.result = nlohmann::json::parse(read_text(result_file));
  return c;
}

}  // namespace

TEST(PluginHost, RefusesTextFileNamedSo) {
  TempDir dir;
  write_text(dir / "x.so", "not a library\n");
  EXPECT_EQ(describe_error(dir / "x.so"),
            (dir / "x.so").string() + ": not a shared library (no ELF header); build plugins with "
                                      "certhook_add_plugin() from the certhook SDK");
}

TEST(PluginHost, RefusesLibraryWithoutEntrySymbol) {
  EXPECT_EQ(describe_error(fixture("no_entry")),
            fixture("no_entry").string() + ": not a certhook plugin: it exports no certhook_plugin_entry "
                                           "(define it with CERTHOOK_PLUGIN_EXPORT)");
}

TEST(PluginHost, RefusesOtherMajorAbiNamingBoth) {
  EXPECT_EQ(describe_error(fixture("abi2")),
            fixture("abi2").string() + ": built for plugin ABI 2.0, this certhook speaks ABI 1.0; "
                                       "rebuild the plugin against this certhook's SDK");
}

TEST(PluginHost, RefusesNewerMinorAbi) {
  EXPECT_EQ(describe_error(fixture("minor99")),
            fixture("minor99").string() + ": built for plugin ABI 1.99, newer than this certhook's ABI 1.0; "
                                          "upgrade certhook or rebuild the plugin against its SDK");
}

TEST(PluginHost, RefusesShortDescriptor) {
  std::string e = describe_error(fixture("short_descriptor"));
  EXPECT_NE(e.find(": descriptor is 8 bytes, smaller than the "), std::string::npos) << e;
  EXPECT_NE(e.find(" bytes of ABI 1.0; rebuild against the certhook SDK"), std::string::npos) << e;
}

TEST(PluginHost, DescribesWrapperPluginSchema) {
  CapturedRun r = run_host({"describe", fixture("recorder").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["name"], "recorder");
  EXPECT_EQ(j["version"], "2.1.0");
  EXPECT_EQ(j["abi"], "1.0");
  EXPECT_EQ(j["batching"], true);
  ASSERT_EQ(j["options"].size(), 8u);
  EXPECT_EQ(j["options"][0]["key"], "record");
  EXPECT_EQ(j["options"][0]["type"], "path");
  EXPECT_EQ(j["options"][0]["required"], true);
  EXPECT_EQ(j["options"][3]["default"], "\"1m30s\"");
  EXPECT_EQ(j["options"][5]["type"], "string list");
  EXPECT_EQ(j["options"][7]["secret"], true);
  EXPECT_EQ(j["options"][7]["default"], "\"tok-default\"");
}

TEST(PluginHost, SegfaultInDeployKillsOnlyTheHost) {
  TempDir dir;
  Call c = call("crash", "deploy", test::request({}), dir);
  EXPECT_EQ(c.run.signal, SIGSEGV);
  EXPECT_TRUE(c.result.is_null()) << "no result file: certhook reports the signal";
}

TEST(PluginHost, AbortInDeploy) {
  TempDir dir;
  Call c = call("abort", "deploy", test::request({}), dir);
  EXPECT_EQ(c.run.signal, SIGABRT);
  EXPECT_TRUE(c.result.is_null());
}

TEST(PluginHost, HangInDeployIsKilledAtTheTimeout) {
  TempDir dir;
  Call c = call("hang", "deploy", test::request({}), dir, std::chrono::milliseconds(500));
  EXPECT_TRUE(c.run.timed_out);
  EXPECT_EQ(c.run.signal, SIGKILL);
  EXPECT_TRUE(c.result.is_null());
}

TEST(PluginHost, ExceptionInCreateIsAFailureWithItsMessage) {
  TempDir dir;
  Call c = call("throw_create", "deploy", test::request({}), dir);
  EXPECT_EQ(c.run.exit_code, 1);
  EXPECT_EQ(c.result["status"], "failed");
  EXPECT_EQ(c.result["message"], "backend unreachable: connection refused");
}

TEST(PluginHost, PermanentErrorIsNotRetryable) {
  TempDir dir;
  Call c = call("permanent", "deploy", test::request({}), dir);
  EXPECT_EQ(c.run.exit_code, 2);
  EXPECT_EQ(c.result["status"], "permanent");
  EXPECT_EQ(c.result["message"], "HTTP 403 from the backend: credentials refused");
}

TEST(PluginHost, FailsTwiceThenSucceeds) {
  TempDir dir;
  auto opts = nlohmann::json{{"state", (dir / "calls").string()}};
  Call first = call("flaky", "deploy", test::request(opts, {"a.test"}, 1), dir);
  EXPECT_EQ(first.run.exit_code, 1);
  EXPECT_EQ(first.result["message"], "transient failure 1");
  Call second = call("flaky", "deploy", test::request(opts, {"a.test"}, 2), dir);
  EXPECT_EQ(second.run.exit_code, 1);
  EXPECT_EQ(second.result["message"], "transient failure 2");
  Call third = call("flaky", "deploy", test::request(opts, {"a.test"}, 3), dir);
  EXPECT_EQ(third.run.exit_code, 0);
  EXPECT_EQ(third.result["status"], "ok");
  EXPECT_EQ(read_text(dir / "calls"), "3\n");
}

TEST(PluginHost, BatchingPluginReceivesEveryCertificateAndTypedOptions) {
  TempDir dir;
  auto record = dir / "record.txt";
  nlohmann::json opts = {{"record", record.string()}, {"count", 5},          {"flag", true},
                         {"wait", 90000},              {"tags", {"x", "y"}}, {"env", {{"A", "b"}}},
                         {"token", "s3cret"}};
  Call c = call("recorder", "deploy", test::request(opts, {"one.test", "two.test"}, 2), dir);
  ASSERT_EQ(c.run.exit_code, 0) << c.run.err;
  Call p = call("recorder", "preflight", test::request(opts, {"one.test"}, 1, true), dir);
  ASSERT_EQ(p.run.exit_code, 0) << p.run.err;
  EXPECT_EQ(read_text(record),
            "create count=5 flag=1 wait_ms=90000 url=- tags=x,y, env=A=b, token=set\n"
            "deploy hook=test-hook attempt=2 dry_run=0 certs="
            "one.test[one.test www.one.test fp=ab12 reason=renewed cert=/var/lib/certhook/live/one.test/cert.pem]"
            "two.test[two.test www.two.test fp=ab12 reason=renewed cert=/var/lib/certhook/live/two.test/cert.pem]\n"
            "create count=5 flag=1 wait_ms=90000 url=- tags=x,y, env=A=b, token=set\n"
            "preflight hook=test-hook attempt=1 dry_run=1 certs="
            "one.test[one.test www.one.test fp=ab12 reason=renewed cert=/var/lib/certhook/live/one.test/cert.pem]\n");
}

TEST(PluginHost, RollbackAbsentIsANoOp) {
  TempDir dir;
  Call c = call("permanent", "rollback", test::request({}), dir);
  EXPECT_EQ(c.run.exit_code, 0);
  EXPECT_EQ(c.result["message"], "permanent has no rollback; nothing to do");
}

TEST(PluginHost, HelloWritesAMarkerPerCertificate) {
  TempDir dir;
  auto opts = nlohmann::json{{"dir", dir.path().string()}, {"greeting", "hi"}};
  Call c = call("hello", "deploy", test::request(opts, {"a.test", "b.test"}), dir);
  ASSERT_EQ(c.run.exit_code, 0) << c.run.err;
  EXPECT_EQ(read_text(dir / "a.test.hello"), "hi ab12\n");
  EXPECT_EQ(read_text(dir / "b.test.hello"), "hi ab12\n");
  Call missing = call("hello", "preflight", test::request({{"dir", (dir / "nope").string()}}), dir);
  EXPECT_EQ(missing.run.exit_code, 2);
  EXPECT_EQ(missing.result["message"], (dir / "nope").string() + ": not a directory; create it or fix option dir");
}

TEST(PluginHost, BadRequestIsRefused) {
  TempDir dir;
  write_text(dir / "request.json", "{not json");
  CapturedRun r = run_host({"call", fixture("hello").string(), "deploy", (dir / "request.json").string(),
                            (dir / "result.json").string()});
  EXPECT_EQ(r.exit_code, 3);
  auto result = nlohmann::json::parse(read_text(dir / "result.json"));
  EXPECT_EQ(result["status"], "refused");
  EXPECT_NE(result["message"].get<std::string>().find(": bad request: "), std::string::npos);
}

TEST(PluginHost, ExceptionEscapingTheCAbiIsCaughtAndReported) {
  TempDir dir;
  Call c = call("escape", "deploy", test::request({}), dir);
  EXPECT_EQ(c.run.exit_code, 1) << c.run.err;
  EXPECT_EQ(c.result["status"], "failed");
  EXPECT_EQ(c.result["message"], "exception escaped the plugin: thrown across the C ABI");
}
