// The main job end to end (issue 7): `certhook run` / `certhook issue` as built, against a real
// Pebble (50% nonce rejection, default authorization reuse, no validation sleep), with real exec
// hooks and hooks.d scripts. Everything is checked from the outside: exit status, --json output,
// files in live/, and OpenSSL on what was issued.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <thread>

#include <nlohmann/json.hpp>

#include "e2e_support.hpp"
#include "net.hpp"
#include "pebble.hpp"
#include "tempdir.hpp"
#include "testcerts.hpp"

using namespace certhook::test;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

bool contains(const std::string &text, const std::string &part) { return text.find(part) != std::string::npos; }

// Names nobody has validated before in this Pebble, so authorizations start pending.
std::string fresh(const std::string &label) {
  static std::mt19937 rng{std::random_device{}()};
  static int counter = 0;
  return label + "-" + std::to_string(++counter) + "-" + std::to_string(rng() % 100000) + ".certhook.test";
}

std::string quoted_list(const std::vector<std::string> &items) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i) out += (i ? ", \"" : "\"") + items[i] + "\"";
  return out + "]";
}

// The failure entry for `certificate` in a --json report (null when there is none).
json failure_of(const json &report, const std::string &certificate) {
  for (const auto &f : report["failed"])
    if (f["certificate"] == certificate && f["hook"] == "") return f;
  return nullptr;
}

std::vector<std::string> lines_starting(const std::vector<std::string> &lines, const std::string &prefix) {
  std::vector<std::string> out;
  for (const auto &l : lines)
    if (l.rfind(prefix, 0) == 0) out.push_back(l);
  return out;
}

struct Acme {
  std::string directory;   // empty: the suite's Pebble
  std::string renew_before = "30d";
  std::string contact = "mailto:e2e@certhook.test";
};
Acme with_directory(std::string url) {
  Acme a;
  a.directory = std::move(url);
  return a;
}
Acme with_renew_before(std::string d) {
  Acme a;
  a.renew_before = std::move(d);
  return a;
}
Acme with_contact(std::string c) {
  Acme a;
  a.contact = std::move(c);
  return a;
}

class E2eAcme : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    PebbleOptions o;   // 50% nonce rejection, no validation sleep, default authz reuse
    o.domain_blocklist = {"blocked.certhook.test"};
    pebble_ = new Pebble(o);
    root_ = pebble_->root_pem();
  }
  static void TearDownTestSuite() {
    delete pebble_;
    pebble_ = nullptr;
  }
  void TearDown() override {
    if (HasFailure()) std::cerr << "--- Pebble logs (tail)\n" << tail(pebble_->logs(), 6000);
  }
  static std::string tail(const std::string &s, std::size_t n) { return s.size() > n ? s.substr(s.size() - n) : s; }

  Pebble &pebble() { return *pebble_; }
  std::string http_listen() const { return "127.0.0.1:" + std::to_string(pebble_->http_port()); }

  TempDir dir{"e2"};
  fs::path config = dir / "certhook.toml";
  fs::path state = dir / "state";
  fs::path events = dir / "events.log";   // one line per hook run (pre / deploy)

  // [certhook], [acme], [challenge] (standalone on Pebble's http-01 port) and an exec hook
  // `record` that appends "deploy NAME REASON FINGERPRINT" to events.log.
  std::string base(const Acme &a = Acme()) const {
    return "[certhook]\nstate_dir = \"state\"\nplugin_dirs = []\nhooks_dir = \"hooks.d\"\n\n"
           "[acme]\ndirectory = \"" + (a.directory.empty() ? pebble_->directory_url() : a.directory) + "\"\n"
           "ca_bundle = \"" + pebble_->ca_bundle().string() + "\"\n"
           "contact = [\"" + a.contact + "\"]\n"
           "renew_before = \"" + a.renew_before + "\"\n\n"
           "[challenge]\nmode = \"standalone\"\nlisten = \"" + http_listen() + "\"\n\n"
           "[[hook]]\nname = \"record\"\ntype = \"exec\"\nretry = { attempts = 1 }\n[hook.options]\n"
           "command = [\"/bin/sh\", \"-c\", 'printf \"deploy %s %s %s\\n\" \"$CERTHOOK_CERT_NAME\" "
           "\"$CERTHOOK_REASON\" \"$CERTHOOK_FINGERPRINT\" >> \"$1\"', \"record\", \"" + events.string() + "\"]\n\n";
  }
  static std::string cert(const std::string &name, const std::vector<std::string> &domains,
                          const std::string &extra = "", const std::string &hooks = "[\"record\"]") {
    return "[[certificate]]\nname = \"" + name + "\"\ndomains = " + quoted_list(domains) + "\nhooks = " + hooks +
           "\n" + extra + "\n";
  }
  static std::string webroot(const fs::path &root) {
    return "challenge = { mode = \"webroot\", webroot = \"" + root.string() + "\" }\n";
  }
  // A certificate another tool manages (deploy only), from a lineage made here.
  std::string path_source_cert(const std::string &name) {
    Pem ca = make_ca();
    Pem leaf = make_leaf(ca, {.names = {name + ".certhook.test"}});
    write_lineage(dir / "other-tool" / name, leaf, ca);
    return "[[certificate]]\nname = \"" + name + "\"\nsource = \"" + (dir / "other-tool" / name).string() +
           "\"\nhooks = [\"record\"]\n\n";
  }
  void write_config(const std::string &text) { write_text(config, text); }
  void add_pre_script() {
    fs::create_directories(dir / "hooks.d" / "pre");
    fs::permissions(dir / "hooks.d", fs::perms(0755));
    fs::permissions(dir / "hooks.d" / "pre", fs::perms(0755));
    write_text(dir / "hooks.d" / "pre" / "10-note",
               "#!/bin/sh\necho \"pre $CERTHOOK_PHASE\" >> \"" + events.string() + "\"\n", 0755);
  }

  CertHookRun certhook(std::vector<std::string> args) {
    args.insert(args.begin(), {"--config", config.string()});
    return run_certhook(args, dir.path());
  }
  // `certhook --json ARGS`, its report parsed.
  json certhook_json(std::vector<std::string> args, CertHookRun *raw = nullptr) {
    args.insert(args.begin(), "--json");
    CertHookRun r = certhook(args);
    if (raw) *raw = r;
    json j = json::parse(r.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << "stdout is not one JSON object:\n" << r.out << "\nstderr:\n" << r.err;
    return j;
  }
  json status() {
    CertHookRun r;
    json j = certhook_json({"status"}, &r);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return j;
  }
  static json status_of(const json &s, const std::string &name) {
    for (const auto &c : s["certificates"])
      if (c["name"] == name) return c;
    return nullptr;
  }

  // live/<name> is a symlink to a complete version in archive/<name>/ whose key matches its
  // certificate; returns the leaf's fingerprint ("" after recording failures).
  std::string expect_live_consistent(const std::string &name) {
    SCOPED_TRACE("live/" + name);
    fs::path live = state / "live" / name;
    std::error_code ec;
    if (!fs::is_symlink(live, ec)) {
      ADD_FAILURE() << live << " is not a symlink";
      return "";
    }
    fs::path target = fs::canonical(live, ec);
    EXPECT_FALSE(ec) << live << " dangles";
    EXPECT_EQ(target.parent_path(), fs::canonical(state / "archive" / name));
    for (const char *f : {"cert.pem", "chain.pem", "fullchain.pem", "privkey.pem"})
      EXPECT_TRUE(fs::is_regular_file(live / f)) << f;
    std::string cert = read_text(live / "cert.pem"), chain = read_text(live / "chain.pem");
    EXPECT_EQ(read_text(live / "fullchain.pem"), cert + chain);
    EXPECT_TRUE(key_matches(cert, read_text(live / "privkey.pem")));
    return fingerprint_of(cert);
  }

  // Everything about a freshly issued certificate: names, chain, layout, modes.
  std::string expect_issued(const std::string &name, std::vector<std::string> domains) {
    SCOPED_TRACE("certificate " + name);
    std::string fp = expect_live_consistent(name);
    fs::path live = state / "live" / name;
    std::string cert = read_text(live / "cert.pem");
    std::sort(domains.begin(), domains.end());
    EXPECT_EQ(dns_names(cert), domains);
    EXPECT_EQ(verify_chain(cert, read_text(live / "chain.pem"), root_), "");
    EXPECT_EQ(mode_of(live / "privkey.pem"), 0600u);
    EXPECT_EQ(mode_of(fs::canonical(live)), 0700u);
    EXPECT_EQ(mode_of(state / "archive" / name), 0700u);
    EXPECT_EQ(mode_of(state / "archive"), 0700u);
    for (const auto &e : fs::directory_iterator(state / "accounts")) {
      EXPECT_EQ(mode_of(e.path()), 0700u) << e.path();
      EXPECT_EQ(mode_of(e.path() / "account.key"), 0600u) << e.path();
    }
    return fp;
  }

  static Pebble *pebble_;
  static std::string root_;
};

Pebble *E2eAcme::pebble_ = nullptr;
std::string E2eAcme::root_;

}  // namespace

// Two names over standalone http-01 plus a one-name certificate: issued, deployed with reason
// issued after exactly one pre script; a second run does nothing; renew_before beyond the
// lifetime renews both (with a warning) and deploys them with reason renewed.
TEST_F(E2eAcme, IssuesDeploysOnceThenRenewsWhenDue) {
  add_pre_script();
  const std::vector<std::string> pair = {fresh("pair"), fresh("www-pair")}, single = {fresh("single")};
  write_config(base() + cert("pair", pair) + cert("single", single));

  CertHookRun raw;
  json r = certhook_json({"run"}, &raw);
  ASSERT_EQ(raw.exit_code, 0) << raw.out << raw.err;
  EXPECT_EQ(r["issued"], json({"pair", "single"}));
  EXPECT_EQ(r["renewed"], json::array());
  EXPECT_EQ(r["failed"], json::array()) << raw.err;
  EXPECT_EQ(r["deployed"].size(), 2u);
  std::string fp_pair = expect_issued("pair", pair), fp_single = expect_issued("single", single);

  auto ev = read_lines(events);
  ASSERT_EQ(ev.size(), 3u) << raw.err;
  EXPECT_EQ(ev[0], "pre pre");   // exactly once, before anything was deployed
  std::vector<std::string> deploys(ev.begin() + 1, ev.end());
  std::sort(deploys.begin(), deploys.end());
  EXPECT_EQ(deploys, (std::vector<std::string>{"deploy pair issued " + fp_pair, "deploy single issued " + fp_single}));

  // Nothing due, nothing pending: no ACME traffic, no pre script, no deploy.
  r = certhook_json({"run"}, &raw);
  EXPECT_EQ(raw.exit_code, 0) << raw.err;
  EXPECT_EQ(r["issued"], json::array());
  EXPECT_EQ(r["renewed"], json::array());
  EXPECT_EQ(r["deployed"], json::array());
  EXPECT_EQ(read_lines(events).size(), 3u);
  CertHookRun text = certhook({"run"});
  EXPECT_EQ(text.exit_code, 0);
  EXPECT_TRUE(contains(text.out, "nothing to do")) << text.out;

  // renew_before longer than Pebble's ~5-year lifetime: due at once.
  write_config(base(with_renew_before("2000d")) + cert("pair", pair) + cert("single", single));
  r = certhook_json({"run"}, &raw);
  ASSERT_EQ(raw.exit_code, 0) << raw.out << raw.err;
  EXPECT_EQ(r["renewed"], json({"pair", "single"}));
  EXPECT_EQ(r["issued"], json::array());
  EXPECT_TRUE(contains(raw.err, "pair: renew_before (2000d) is not shorter than the certificate's lifetime")) << raw.err;
  std::string fp_pair2 = expect_issued("pair", pair), fp_single2 = expect_issued("single", single);
  EXPECT_NE(fp_pair2, fp_pair);
  EXPECT_NE(fp_single2, fp_single);
  EXPECT_EQ(fs::read_symlink(state / "live" / "pair").filename(), "2");
  EXPECT_TRUE(fs::exists(state / "archive" / "pair" / "1" / "cert.pem"));   // the previous version is kept
  ev = read_lines(events);
  ASSERT_EQ(ev.size(), 6u) << raw.err;
  EXPECT_EQ(ev[3], "pre pre");
  deploys.assign(ev.begin() + 4, ev.end());
  std::sort(deploys.begin(), deploys.end());
  EXPECT_EQ(deploys, (std::vector<std::string>{"deploy pair renewed " + fp_pair2, "deploy single renewed " + fp_single2}));

  // Back to a sane renew_before: nothing to do again; status says deployed.
  write_config(base() + cert("pair", pair) + cert("single", single));
  r = certhook_json({"run"}, &raw);
  EXPECT_EQ(raw.exit_code, 0) << raw.err;
  EXPECT_EQ(r["renewed"], json::array());
  EXPECT_EQ(r["deployed"], json::array());
  json s = status();
  EXPECT_EQ(status_of(s, "pair")["fingerprint"], fp_pair2);
  EXPECT_EQ(status_of(s, "pair")["hooks"][0]["state"], "deployed");
}

// Webroot mode served by a static web server that owns Pebble's http-01 port — which is exactly
// why a standalone certificate in the same run cannot listen. Every failure is named with its
// reason while the webroot certificate is issued and deployed; exit status 1.
TEST_F(E2eAcme, WebrootSucceedsWhileOtherCertificatesFailClearly) {
  fs::path www = dir / "www", elsewhere = dir / "not-served";
  fs::create_directories(www);
  fs::create_directories(elsewhere);
  StaticServer server(pebble().http_port(), www);   // holds the port the standalone responder needs
  const std::vector<std::string> web = {fresh("web")};
  const std::string blocked = "www.blocked.certhook.test", unserved = fresh("unserved");
  write_config(base() + cert("web", web, webroot(www)) + cert("standalone", {fresh("standalone")}) +
               cert("badname", {"bad_name!.certhook.test"}) + cert("blocked", {blocked}) +
               cert("unserved", {unserved}, webroot(elsewhere)));

  CertHookRun raw;
  json r = certhook_json({"run"}, &raw);
  EXPECT_EQ(raw.exit_code, 1) << raw.out << raw.err;
  EXPECT_EQ(r["issued"], json({"web"})) << raw.err;
  EXPECT_EQ(r["deployed"], json({{{"certificate", "web"}, {"hook", "record"}}}));
  std::string fp = expect_issued("web", web);
  EXPECT_EQ(read_lines(events), std::vector<std::string>{"deploy web issued " + fp});
  EXPECT_GE(server.served(), 1);
  EXPECT_FALSE(fs::exists(www / ".well-known")) << "challenge files are removed afterwards";

  json f = failure_of(r, "standalone");
  ASSERT_TRUE(f.is_object()) << r.dump(1);
  EXPECT_TRUE(contains(f["error"], "cannot listen on " + http_listen() + ": address in use")) << f["error"];
  f = failure_of(r, "badname");
  ASSERT_TRUE(f.is_object()) << r.dump(1);
  EXPECT_TRUE(contains(f["error"], "invalid domain \"bad_name!.certhook.test\"")) << f["error"];
  EXPECT_TRUE(contains(f["error"], "certhook.toml:")) << "names the file and line: " << f["error"];
  // The configuration diagnostic itself, once, with its own location.
  json bad_diag;
  for (const auto &e : r["errors"])
    if (e["key"] == "certificate.badname.domains") bad_diag = e;
  ASSERT_TRUE(bad_diag.is_object()) << r["errors"].dump(1);
  EXPECT_GT(bad_diag["line"].get<int>(), 0);
  EXPECT_FALSE(contains(bad_diag["message"], "certhook.toml:")) << bad_diag["message"];
  f = failure_of(r, "blocked");
  ASSERT_TRUE(f.is_object()) << r.dump(1);
  EXPECT_TRUE(contains(f["error"], "rejectedIdentifier")) << f["error"];
  EXPECT_TRUE(contains(f["error"], blocked)) << f["error"];
  EXPECT_TRUE(contains(f["error"], "remove it from the certificate's domains")) << f["error"];
  f = failure_of(r, "unserved");
  ASSERT_TRUE(f.is_object()) << r.dump(1);
  EXPECT_TRUE(contains(f["error"], unserved + ": http-01 validation failed")) << f["error"];
  EXPECT_TRUE(contains(f["error"], "reaches the [challenge] responder")) << f["error"];
  EXPECT_EQ(r["failed"].size(), 4u) << r.dump(1);

  for (const char *name : {"standalone", "badname", "blocked", "unserved"}) {
    std::error_code ec;
    EXPECT_FALSE(fs::exists(fs::symlink_status(state / "live" / name, ec))) << name;
  }
  // Nothing is pending for the one that worked: a run with only it in scope does nothing.
  r = certhook_json({"run", "web"}, &raw);
  EXPECT_EQ(raw.exit_code, 0) << raw.err;
  EXPECT_EQ(r["deployed"], json::array());
}

// Pebble refuses the account (an e-mail address it cannot parse): every ACME certificate fails
// with Pebble's reason; a certificate another tool manages is still deployed in the same run.
TEST_F(E2eAcme, RejectedAccountFailsAcmeCertificatesOnly) {
  write_config(base(with_contact("mailto:bad address@example.com")) + cert("acme1", {fresh("acme1")}) +
               path_source_cert("manual"));
  CertHookRun raw;
  json r = certhook_json({"run"}, &raw);
  EXPECT_EQ(raw.exit_code, 1) << raw.out << raw.err;
  json f = failure_of(r, "acme1");
  ASSERT_TRUE(f.is_object()) << r.dump(1);
  EXPECT_TRUE(contains(f["error"], "invalidContact")) << f["error"];
  EXPECT_TRUE(contains(f["error"], "bad address@example.com")) << f["error"];
  EXPECT_TRUE(contains(f["error"], "fix [acme] contact")) << f["error"];
  EXPECT_EQ(r["deployed"], json({{{"certificate", "manual"}, {"hook", "record"}}}));
  EXPECT_EQ(r["issued"], json::array());
  std::error_code ec;
  EXPECT_FALSE(fs::exists(fs::symlink_status(state / "live" / "acme1", ec)));
}

// The ACME server is down (nothing listens): a clear error naming the directory URL, exit 1,
// and the other certificate deploys.
TEST_F(E2eAcme, AcmeServerDownFailsClearly) {
  std::string url = "https://127.0.0.1:" + std::to_string(free_port()) + "/dir";
  write_config(base(with_directory(url)) + cert("acme1", {fresh("acme1")}) + path_source_cert("manual"));
  CertHookRun raw;
  json r = certhook_json({"run"}, &raw);
  EXPECT_EQ(raw.exit_code, 1) << raw.out << raw.err;
  json f = failure_of(r, "acme1");
  ASSERT_TRUE(f.is_object()) << r.dump(1);
  EXPECT_TRUE(contains(f["error"], "cannot connect to " + url + ": connection refused")) << f["error"];
  EXPECT_EQ(r["deployed"], json({{{"certificate", "manual"}, {"hook", "record"}}}));
}

// After a failed issuance the next `run` does not contact the CA (and runs no pre script) until
// the backoff expires, says until when, and exits 1; `certhook issue NAME` tries at once.
TEST_F(E2eAcme, FailedIssuanceBacksOffUntilIssueAsks) {
  add_pre_script();
  ConnectionCounter broken;   // accepts and hangs up: TLS fails
  const std::vector<std::string> domains = {fresh("backoff")};
  std::string url = "https://127.0.0.1:" + std::to_string(broken.port()) + "/dir";
  write_config(base(with_directory(url)) + cert("backoff", domains));

  CertHookRun raw;
  json r = certhook_json({"run"}, &raw);
  EXPECT_EQ(raw.exit_code, 1) << raw.err;
  int contacted = broken.connections();
  EXPECT_GE(contacted, 1);
  ASSERT_TRUE(failure_of(r, "backoff").is_object()) << r.dump(1);
  EXPECT_EQ(read_lines(events), std::vector<std::string>{"pre pre"});
  json s = status_of(status(), "backoff");
  ASSERT_TRUE(s.contains("issuance")) << s.dump(1);
  EXPECT_EQ(s["issuance"]["failures"], 1);
  std::string next = s["issuance"]["next_attempt"];
  EXPECT_FALSE(next.empty());

  r = certhook_json({"run"}, &raw);
  EXPECT_EQ(raw.exit_code, 1) << raw.err;
  EXPECT_EQ(broken.connections(), contacted) << "a backed-off run contacted the CA";
  json f = failure_of(r, "backoff");
  ASSERT_TRUE(f.is_object()) << r.dump(1);
  EXPECT_EQ(f["error"].get<std::string>().rfind("issuance failed 1 time(s) (last: acme: ", 0), 0u) << f["error"];
  EXPECT_TRUE(contains(f["error"], "backing off until " + next)) << f["error"];
  EXPECT_TRUE(contains(f["error"], "certhook issue backoff")) << f["error"];
  EXPECT_EQ(read_lines(events).size(), 1u) << "no pre script when nothing is issued";

  r = certhook_json({"issue", "backoff"}, &raw);
  EXPECT_EQ(raw.exit_code, 1) << raw.err;
  EXPECT_GT(broken.connections(), contacted) << "issue must try at once";
  EXPECT_EQ(status_of(status(), "backoff")["issuance"]["failures"], 2);

  // The CA is back: `issue` obtains it and clears the backoff; the next run has nothing to do.
  write_config(base() + cert("backoff", domains));
  r = certhook_json({"issue", "backoff"}, &raw);
  ASSERT_EQ(raw.exit_code, 0) << raw.out << raw.err;
  EXPECT_EQ(r["issued"], json({"backoff"}));
  std::string fp = expect_issued("backoff", domains);
  EXPECT_EQ(lines_starting(read_lines(events), "deploy"), std::vector<std::string>{"deploy backoff issued " + fp});
  EXPECT_FALSE(status_of(status(), "backoff").contains("issuance"));
  r = certhook_json({"run"}, &raw);
  EXPECT_EQ(raw.exit_code, 0) << raw.err;
  EXPECT_EQ(r["issued"], json::array());
}

// kill -9 while Pebble is validating (the web server holds the validation request): nothing is
// published; the next run issues.
TEST_F(E2eAcme, KilledDuringValidationPublishesNothing) {
  fs::path www = dir / "www";
  fs::create_directories(www);
  StaticServer server(pebble().http_port(), www);
  server.hold();
  const std::vector<std::string> domains = {fresh("held")};
  write_config(base() + cert("held", domains, webroot(www)));
  {
    CertHookProcess p({"--config", config.string(), "run"}, dir.path());
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (server.arrivals() == 0 && p.running() && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    ASSERT_GE(server.arrivals(), 1) << "Pebble never validated; certhook: " << p.wait().err;
    ASSERT_TRUE(p.running());
    p.kill9();
  }
  std::error_code ec;
  EXPECT_FALSE(fs::exists(fs::symlink_status(state / "live" / "held", ec)));
  EXPECT_TRUE(read_lines(events).empty());
  server.release();

  CertHookRun raw;
  json r = certhook_json({"run"}, &raw);
  ASSERT_EQ(raw.exit_code, 0) << raw.out << raw.err;
  EXPECT_EQ(r["issued"], json({"held"}));
  std::string fp = expect_issued("held", domains);
  EXPECT_EQ(read_lines(events), std::vector<std::string>{"deploy held issued " + fp});
}

// kill -9 after the new version is published, while its deploy hook runs: live/ holds the
// complete new pair, the hook is not recorded as deployed, and the next run stops the orphaned
// hook, issues nothing and deploys with the reason of the issuance (issued).
TEST_F(E2eAcme, KilledDuringDeployKeepsTheNewPairAndDeploysNext) {
  const std::vector<std::string> domains = {fresh("deploying")};
  fs::path started = dir / "started", once = dir / "once";
  std::string text = base() + cert("deploying", domains, "", "[\"slow\"]");
  text += "[[hook]]\nname = \"slow\"\ntype = \"exec\"\nretry = { attempts = 1 }\n[hook.options]\n"
          "command = [\"/bin/sh\", \"-c\", 'if mkdir \"$2\" 2>/dev/null; then echo $$ > \"$3\"; sleep 60; fi; "
          "printf \"deploy %s %s\\n\" \"$CERTHOOK_CERT_NAME\" \"$CERTHOOK_REASON\" >> \"$1\"', \"slow\", \"" +
          events.string() + "\", \"" + once.string() + "\", \"" + started.string() + "\"]\n";
  write_config(text);
  {
    CertHookProcess p({"--config", config.string(), "run"}, dir.path());
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!fs::exists(started) && p.running() && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    ASSERT_TRUE(fs::exists(started)) << "the deploy hook never started; certhook: " << p.wait().err;
    ASSERT_TRUE(p.running());
    p.kill9();
  }
  expect_live_consistent("deploying");
  json s = status_of(status(), "deploying");
  EXPECT_NE(s["hooks"][0]["state"], "deployed") << s.dump(1);
  EXPECT_TRUE(read_lines(events).empty());

  CertHookRun raw;
  json r = certhook_json({"run"}, &raw);
  ASSERT_EQ(raw.exit_code, 0) << raw.out << raw.err;
  EXPECT_EQ(r["issued"], json::array());
  EXPECT_EQ(r["deployed"], json({{{"certificate", "deploying"}, {"hook", "slow"}}}));
  EXPECT_TRUE(contains(raw.err, "left running by an earlier certhook")) << raw.err;
  EXPECT_EQ(read_lines(events), std::vector<std::string>{"deploy deploying issued"});
  expect_issued("deploying", domains);
}

// kill -9 at random moments of forced re-issuances: live/ is always a complete matching pair
// (the old or the new one), the journal stays readable, and a final issuance completes.
TEST_F(E2eAcme, KilledAtRandomMomentsLeavesLiveWhole) {
  const std::vector<std::string> domains = {fresh("sweep")};
  write_config(base() + cert("sweep", domains));
  auto t0 = std::chrono::steady_clock::now();
  CertHookRun raw = certhook({"run"});
  auto full = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  ASSERT_EQ(raw.exit_code, 0) << raw.err;
  expect_live_consistent("sweep");

  unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  std::uniform_int_distribution<long> when(0, full.count() + full.count() / 2);
  int killed = 0;
  for (int i = 0; i < 6; ++i) {
    SCOPED_TRACE("iteration " + std::to_string(i));
    CertHookProcess p({"--config", config.string(), "issue", "sweep", "--force"}, dir.path());
    std::this_thread::sleep_for(std::chrono::milliseconds(when(rng)));
    if (p.running()) {
      p.kill9();
      ++killed;
    }
    expect_live_consistent("sweep");
    EXPECT_EQ(status().value("certificates", json::array()).size(), 1u);
  }
  std::cerr << "e2e: killed " << killed << " of 6 forced issuances (full issuance took " << full.count() << " ms)\n";
  raw = certhook({"issue", "sweep", "--force"});
  ASSERT_EQ(raw.exit_code, 0) << raw.err;
  expect_issued("sweep", domains);
  json s = status_of(status(), "sweep");
  EXPECT_EQ(s["hooks"][0]["state"], "deployed") << s.dump(1);
}
