#include "exec/deploy.hpp"

#include <spdlog/spdlog.h>
#include <sys/mman.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <system_error>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string_view>
#include <thread>
#include <utility>

#include "exec/process.hpp"
#include "util/atomic_file.hpp"
#include "util/crypto.hpp"

extern char **environ;

namespace certhook::exec {
namespace {

std::string join(const std::vector<std::string> &items, const char *sep = " ") {
  std::string out;
  for (const auto &s : items) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

// The last non-empty line a failed process printed: usually the reason.
std::string last_line(const std::string &output) {
  std::size_t end = output.find_last_not_of("\r\n \t");
  if (end == std::string::npos) return "";
  std::size_t start = output.rfind('\n', end);
  start = start == std::string::npos ? 0 : start + 1;
  return output.substr(start, end - start + 1);
}

std::string process_failure(const ProcessResult &r) {
  std::string msg = r.describe();
  if (r.outcome != ProcessResult::Outcome::spawn_failed) {
    std::string tail = last_line(r.output);
    if (!tail.empty()) msg += ": " + tail;
  }
  return msg;
}

// Logs a process's output lines under `label`, at most max_logged_lines of them per process (the
// rest is counted and reported once), with secrets redacted. Plugin-host lines ("LEVEL: text")
// keep the plugin's level.
constexpr std::size_t max_logged_lines = 200;

std::function<void(std::string_view)> line_logger(std::string label, const std::vector<std::string> *secrets,
                                                   bool plugin_levels) {
  struct State {
    std::string label;
    std::size_t lines = 0;
  };
  auto state = std::make_shared<State>(State{std::move(label), 0});
  return [state, secrets, plugin_levels](std::string_view raw) {
    if (++state->lines > max_logged_lines) {
      if (state->lines == max_logged_lines + 1)
        spdlog::warn("{}: more than {} lines of output; the rest is not logged", state->label, max_logged_lines);
      return;
    }
    std::string line = secrets ? redact_secrets(std::string(raw), *secrets) : std::string(raw);
    if (plugin_levels) {
      static constexpr std::pair<std::string_view, spdlog::level::level_enum> levels[] = {
          {"debug: ", spdlog::level::debug},
          {"info: ", spdlog::level::info},
          {"warning: ", spdlog::level::warn},
          {"error: ", spdlog::level::err}};
      for (const auto &[prefix, level] : levels)
        if (std::string_view(line).starts_with(prefix))
          return spdlog::log(level, "{}: {}", state->label, std::string_view(line).substr(prefix.size()));
    }
    spdlog::info("{}: {}", state->label, line);
  };
}

}  // namespace

std::string redact_secrets(std::string text, const std::vector<std::string> &secrets) {
  for (const auto &secret : secrets) {
    if (secret.size() < 3) continue;
    for (std::size_t pos = text.find(secret); pos != std::string::npos; pos = text.find(secret, pos + 8))
      text.replace(pos, secret.size(), "********");
  }
  return text;
}

Duration backoff_delay(const RetryPolicy &policy, int failed_attempts) {
  const int n = std::max(1, failed_attempts);
  // delay * 2^(n-1), saturating, capped by max_delay.
  std::int64_t cap = policy.delay.count();
  for (int i = 1; i < n && cap < policy.max_delay.count(); ++i) cap *= 2;
  cap = std::min(cap, static_cast<std::int64_t>(policy.max_delay.count()));
  if (cap <= 0) return Duration(0);
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  return Duration(std::uniform_int_distribution<std::int64_t>(0, cap)(rng));
}

std::string hook_config_hash(const HookConfig &hook, const std::string &typed_options) {
  nlohmann::json j = {{"type", hook.type}, {"options", typed_options}};
  if (hook.type == "exec") {
    j["command"] = hook.command;
    j["env"] = hook.env;
    j["cwd"] = hook.cwd.string();
  }
  if (hook.verify)
    j["verify"] = {hook.verify->connect, hook.verify->server_name};
  return sha256_hex(j.dump()).substr(0, 16);
}

Deployer::Deployer(const Config &config, const std::map<std::string, ResolvedHook> &hooks,
                   std::map<std::string, CertificateContext> &certificates,
                   std::map<std::string, CertificateJournal> &journals, Journal &journal_store,
                   DeployOptions options)
    : config_(config),
      hooks_(hooks),
      certificates_(certificates),
      journals_(journals),
      journal_store_(journal_store),
      options_(std::move(options)) {}

std::string Deployer::next_marker() {
  static std::atomic<unsigned long> counter{0};
  return options_.marker_prefix + "-" + std::to_string(::getpid()) + "-" + std::to_string(++counter);
}

std::vector<std::string> Deployer::base_environment(const std::string &phase, int attempt) const {
  std::vector<std::string> env;
  for (char **e = environ; e && *e; ++e) {
    std::string_view kv(*e);
    if (kv.starts_with("PATH=") || kv.starts_with("LANG=") || kv.starts_with("LC_") ||
        kv.starts_with("TZ="))
      env.emplace_back(kv);
  }
  if (std::none_of(env.begin(), env.end(), [](const std::string &kv) { return kv.starts_with("PATH="); }))
    env.emplace_back("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  env.push_back("CERTHOOK_PHASE=" + phase);
  env.push_back(std::string("CERTHOOK_DRY_RUN=") + (options_.dry_run ? "1" : "0"));
  env.push_back("CERTHOOK_ATTEMPT=" + std::to_string(attempt));
  return env;
}

void Deployer::add_certificate_environment(std::vector<std::string> &env, const CertificateContext &c) const {
  const std::string domains = join(c.facts.names);
  const std::string lineage = c.paths.dir.string();
  env.push_back("CERTHOOK_CERT_NAME=" + c.config->name);
  env.push_back("CERTHOOK_DOMAINS=" + domains);
  env.push_back("CERTHOOK_LINEAGE=" + lineage);
  env.push_back("CERTHOOK_CERT_PATH=" + c.paths.cert.string());
  env.push_back("CERTHOOK_KEY_PATH=" + c.paths.key.string());
  env.push_back("CERTHOOK_CHAIN_PATH=" + c.paths.chain.string());
  env.push_back("CERTHOOK_FULLCHAIN_PATH=" + c.paths.fullchain.string());
  env.push_back("CERTHOOK_FINGERPRINT=" + c.facts.fingerprint);
  env.push_back("CERTHOOK_NOT_AFTER=" + c.facts.not_after);
  env.push_back("CERTHOOK_REASON=" + c.reason);
  env.push_back("RENEWED_LINEAGE=" + lineage);
  env.push_back("RENEWED_DOMAINS=" + domains);
}

std::string Deployer::run_node_once(const PlanNode &node, int attempt, bool &permanent) {
  permanent = false;
  ProcessSpec spec;
  spec.marker = next_marker();
  spec.env = base_environment("deploy", attempt);
  const std::string label = node.hook + " (" + join(node.certificates, ", ") + ")";
  const ResolvedHook *resolved = node.config ? &hooks_.at(node.hook) : nullptr;
  const std::vector<std::string> *secrets = resolved ? &resolved->secrets : nullptr;
  spec.on_line = line_logger(label, secrets, resolved && resolved->plugin);

  if (node.config) {
    if (!resolved->errors.empty()) {
      permanent = true;
      return join(resolved->errors, "; ");
    }
    spec.timeout = node.config->timeout;
    spec.kill_grace = node.config->kill_grace;
  } else {
    spec.timeout = config_.certhook.hooks_d_timeout;
  }

  std::filesystem::path result;
  struct OwnedFd {
    int fd = -1;
    ~OwnedFd() {
      if (fd >= 0) ::close(fd);
    }
  } request_fd;
  if (!node.config) {
    spec.argv = {node.script.string()};
    add_certificate_environment(spec.env, certificates_.at(node.certificates.front()));
  } else if (!resolved->plugin) {
    spec.argv = node.config->command;
    spec.cwd = node.config->cwd;
    for (const auto &[k, v] : node.config->env) spec.env.push_back(k + "=" + v);
    add_certificate_environment(spec.env, certificates_.at(node.certificates.front()));
  } else {
    // The request holds option values, secrets included: it goes to the host's stdin from an
    // anonymous memory file, so no copy is left on disk whatever happens to certhook.
    result = request_dir_ / ("result-" + spec.marker + ".json");
    nlohmann::json certs = nlohmann::json::array();
    for (const auto &name : node.certificates) {
      const auto &c = certificates_.at(name);
      certs.push_back({{"name", name},
                       {"domains", c.facts.names},
                       {"lineage", c.paths.dir.string()},
                       {"cert_path", c.paths.cert.string()},
                       {"key_path", c.paths.key.string()},
                       {"chain_path", c.paths.chain.string()},
                       {"fullchain_path", c.paths.fullchain.string()},
                       {"fingerprint", c.facts.fingerprint},
                       {"not_after", c.facts.not_after},
                       {"reason", c.reason}});
    }
    nlohmann::json req = {{"hook", node.hook},
                          {"options", nlohmann::json::parse(resolved->options_json.empty() ? "{}" : resolved->options_json)},
                          {"attempt", attempt},
                          {"dry_run", options_.dry_run},
                          {"certificates", certs}};
    request_fd.fd = ::memfd_create("certhook-request", MFD_CLOEXEC);
    if (request_fd.fd < 0) return std::string("cannot create the plugin request: ") + std::strerror(errno);
    const std::string body = req.dump();
    for (std::size_t done = 0; done < body.size();) {
      ssize_t w = ::write(request_fd.fd, body.data() + done, body.size() - done);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return std::string("cannot write the plugin request: ") + std::strerror(errno);
      done += static_cast<std::size_t>(w);
    }
    ::lseek(request_fd.fd, 0, SEEK_SET);
    spec.stdin_fd = request_fd.fd;
    spec.argv = {options_.plugin_host.string(), "call", resolved->plugin_file.string(),
                 options_.dry_run ? "preflight" : "deploy", "/dev/stdin", result.string()};
  }

  ProcessResult r = run_process(spec);
  std::string error;
  if (resolved && resolved->plugin) {
    nlohmann::json res;
    try {
      res = nlohmann::json::parse(read_file(result));
    } catch (...) {
    }
    std::error_code ec;
    std::filesystem::remove(result, ec);
    std::string message = res.is_object() ? res.value("message", "") : "";
    if (r.outcome == ProcessResult::Outcome::exited && r.exit_code == 0) return "";
    if (r.outcome == ProcessResult::Outcome::exited && r.exit_code >= 1 && r.exit_code <= 3 && res.is_object()) {
      permanent = r.exit_code >= 2;
      return message.empty() ? "plugin failed without a message" : message;
    }
    if (r.outcome == ProcessResult::Outcome::signaled)
      return "plugin crashed (" + r.describe() + ")";
    return "plugin host " + process_failure(r);
  }
  if (r.ok()) return "";
  return process_failure(r);
}

Deployer::~Deployer() {
  if (request_dir_.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(request_dir_, ec);
}

std::vector<DeployOutcome> Deployer::run(const Plan &plan) {
  const std::size_t n = plan.nodes.size();
  bool any_plugin = std::any_of(plan.nodes.begin(), plan.nodes.end(), [&](const PlanNode &node) {
    return node.config && hooks_.at(node.hook).plugin;
  });
  if (any_plugin && request_dir_.empty()) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "certhook.XXXXXX").string();
    if (!::mkdtemp(tmpl.data()))
      throw std::system_error(errno, std::generic_category(), tmpl + ": cannot create a private directory");
    request_dir_ = tmpl;
  }
  enum class State { waiting, running, done };
  std::vector<State> state(n, State::waiting);
  std::vector<bool> failed(n, false);
  std::vector<std::vector<std::string>> skipped(n);   // certificates not to run, per node
  std::vector<std::string> errors(n);
  std::vector<int> tries(n, 0);
  std::vector<std::string> running_hooks;
  std::vector<DeployOutcome> outcomes;

  std::mutex mutex;                   // guards everything above and below, and the journal
  std::condition_variable changed;
  std::size_t remaining = n;
  const std::size_t limit = static_cast<std::size_t>(std::max(1, config_.certhook.max_parallel));

  auto certificates_of = [&](std::size_t i) {
    std::vector<std::string> out;
    for (const auto &c : plan.nodes[i].certificates)
      if (std::find(skipped[i].begin(), skipped[i].end(), c) == skipped[i].end()) out.push_back(c);
    return out;
  };

  // Every try of one node (retry with backoff); runs without the lock.
  auto try_node = [&](const PlanNode &node) -> std::pair<std::string, int> {
    const HookConfig *hc = node.config;
    const int attempts = hc ? std::max(1, hc->retry.attempts) : 1;
    std::string error;
    int attempt = 1;
    for (;; ++attempt) {
      bool permanent = false;
      try {
        error = run_node_once(node, attempt, permanent);
      } catch (const std::exception &e) {
        error = e.what();
      }
      if (hc) error = redact_secrets(std::move(error), hooks_.at(node.hook).secrets);
      if (error.empty() && hc && hc->verify && !options_.dry_run) {
        for (const auto &name : node.certificates) {
          const auto &c = certificates_.at(name);
          std::string server = hc->verify->server_name.empty()
                                   ? (c.facts.names.empty() ? name : c.facts.names.front())
                                   : hc->verify->server_name;
          std::string why = options_.verifier ? options_.verifier(*hc->verify, server, c.facts.fingerprint)
                                              : "no verifier configured";
          if (!why.empty()) {
            error = why + " (certificate " + name + ")";
            break;
          }
        }
      }
      if (error.empty()) break;
      spdlog::warn("{}: attempt {}/{} failed{}: {}", node.hook, attempt, attempts,
                   permanent && attempt < attempts ? " (permanent: not retried)" : "", error);
      if (permanent || attempt >= attempts) break;
      std::this_thread::sleep_for(backoff_delay(hc->retry, attempt));
    }
    return {error, attempt};
  };

  auto skip_successors = [&](std::size_t i) {
    // Every later node reachable from i loses the certificates it shares with i.
    std::vector<bool> reach(n, false);
    reach[i] = true;
    for (std::size_t j = i + 1; j < n; ++j) {
      for (std::size_t d : plan.nodes[j].after) reach[j] = reach[j] || reach[d];
      if (!reach[j]) continue;
      for (const auto &c : plan.nodes[i].certificates)
        if (std::find(plan.nodes[j].certificates.begin(), plan.nodes[j].certificates.end(), c) !=
            plan.nodes[j].certificates.end())
          skipped[j].push_back(c);
    }
  };

  // Journal writes are grouped per certificate: one when the certificate's last node of the plan
  // has finished, or when its previous write is a second old (so long hooks are recorded as they
  // finish); what is left is written at the end. A crash in between only loses records of hooks
  // that finished (they run again), never invents one.
  std::map<std::string, std::size_t> nodes_left;
  for (const auto &node : plan.nodes)
    for (const auto &c : node.certificates) ++nodes_left[c];
  const auto started = std::chrono::steady_clock::now();
  std::map<std::string, std::chrono::steady_clock::time_point> last_write;
  std::set<std::string> unwritten;
  auto write_journal = [&](const std::string &name) {
    try {
      journal_store_.save(name, journals_[name], false);
    } catch (const std::exception &e) {
      // The hooks ran; only their record is lost, so they run again next time (safe).
      spdlog::error("{}: journal not written: {}", name, e.what());
      outcomes.push_back({name, "journal", std::string("cannot record the outcome: ") + e.what() +
                                               "; these hooks will run again"});
    }
    unwritten.erase(name);
    last_write[name] = std::chrono::steady_clock::now();
  };

  auto record = [&](std::size_t i) {
    const auto &node = plan.nodes[i];
    const ResolvedHook *resolved = node.config ? &hooks_.at(node.hook) : nullptr;
    for (const auto &name : certificates_of(i)) {
      outcomes.push_back({name, node.hook, errors[i]});
      if (options_.dry_run) continue;
      auto &rec = journals_[name].hooks[node.hook];
      if (errors[i].empty()) {
        rec.deployed_fingerprint = certificates_.at(name).facts.fingerprint;
        rec.config_hash = resolved ? resolved->config_hash : "";
        rec.attempts = 0;
        rec.last_error.clear();
        spdlog::info("{}: {}: deployed {}", name, node.hook, rec.deployed_fingerprint.substr(0, 16));
      } else {
        rec.attempts += tries[i];
        rec.last_error = errors[i];
        spdlog::error("{}: {}: {}", name, node.hook, errors[i]);
      }
      rec.updated = now_utc();
      unwritten.insert(name);
      auto since = last_write.try_emplace(name, started).first->second;
      if (--nodes_left[name] == 0 || std::chrono::steady_clock::now() - since >= std::chrono::seconds(1))
        write_journal(name);
    }
    if (!errors[i].empty() && node.config && node.config->stop_on_failure) skip_successors(i);
  };

  // The next node that can start now, marked running; nodes that need no process (skipped by an
  // on_failure = "stop" predecessor, or not run under --dry-run) are completed on the way.
  // Lowest index first: the plan's order, ties broken by name.
  auto next_ready = [&]() -> std::optional<std::pair<std::size_t, PlanNode>> {
    for (std::size_t i = 0; i < n; ++i) {
      if (state[i] != State::waiting) continue;
      const auto &node = plan.nodes[i];
      bool ready = std::all_of(node.after.begin(), node.after.end(),
                               [&](std::size_t d) { return state[d] == State::done; });
      if (!ready) continue;
      if (std::find(running_hooks.begin(), running_hooks.end(), node.hook) != running_hooks.end()) continue;
      auto certs = certificates_of(i);
      if (certs.empty()) {
        // Every certificate of this node was skipped by an on_failure = stop predecessor.
        state[i] = State::done;
        --remaining;
        for (const auto &c : node.certificates)
          outcomes.push_back({c, node.hook, "not run: an earlier hook failed with on_failure = \"stop\""});
        continue;
      }
      if (options_.dry_run) {
        const ResolvedHook *resolved = node.config ? &hooks_.at(node.hook) : nullptr;
        bool runs = resolved && (resolved->plugin || node.config->dry_run);
        if (!runs) {
          spdlog::info("{}: {}: would run (skipped under --dry-run)", join(certs, ", "), node.hook);
          for (const auto &c : certs) outcomes.push_back({c, node.hook, ""});
          state[i] = State::done;
          --remaining;
          continue;
        }
      }
      PlanNode copy = node;
      copy.certificates = certs;
      state[i] = State::running;
      running_hooks.push_back(node.hook);
      return std::make_pair(i, std::move(copy));
    }
    return std::nullopt;
  };

  // max_parallel workers, each taking the next ready node and recording its outcome itself: a
  // hook's start and end need no hand-off through another thread.
  auto worker = [&] {
    std::unique_lock lock(mutex);
    while (remaining > 0) {
      auto next = next_ready();
      if (!next) {
        if (remaining > 0) changed.wait(lock);
        continue;
      }
      const std::size_t i = next->first;
      changed.notify_all();   // nodes completed on the way may have made more ready: others look
      lock.unlock();
      auto [error, attempts] = try_node(next->second);
      lock.lock();
      errors[i] = error;
      failed[i] = !error.empty();
      tries[i] = attempts;
      state[i] = State::done;
      --remaining;
      running_hooks.erase(std::find(running_hooks.begin(), running_hooks.end(), plan.nodes[i].hook));
      record(i);
      changed.notify_all();
    }
    changed.notify_all();
  };
  std::vector<std::thread> workers;
  for (std::size_t w = 0; w < std::min(limit, n); ++w) workers.emplace_back(worker);
  for (auto &t : workers) t.join();
  for (auto pending = unwritten; const auto &name : pending) write_journal(name);
  if (!options_.dry_run) {
    try {
      journal_store_.sync();
    } catch (const std::exception &e) {
      spdlog::error("journal: {}", e.what());
      outcomes.push_back({"", "journal", std::string("cannot sync the journal: ") + e.what()});
    }
  }
  return outcomes;
}

std::vector<std::string> Deployer::run_phase_scripts(const std::string &phase,
                                                     const std::vector<HooksDScript> &scripts,
                                                     const std::vector<std::string> &deployed,
                                                     const std::vector<std::string> &failed) {
  std::vector<std::string> errors;
  if (options_.dry_run) {
    for (const auto &s : scripts) spdlog::info("{}: would run (skipped under --dry-run)", s.key);
    return errors;
  }
  for (const auto &s : scripts) {
    ProcessSpec spec;
    spec.argv = {s.path.string()};
    spec.env = base_environment(phase, 1);
    if (phase == "post") {
      spec.env.push_back("CERTHOOK_DEPLOYED=" + join(deployed));
      spec.env.push_back("CERTHOOK_FAILED=" + join(failed));
    }
    spec.timeout = config_.certhook.hooks_d_timeout;
    spec.marker = next_marker();
    spec.on_line = line_logger(s.key, nullptr, false);
    auto r = run_process(spec);
    if (!r.ok()) {
      errors.push_back(s.key + ": " + process_failure(r));
      spdlog::error("{}: {}", s.key, process_failure(r));
    }
  }
  return errors;
}

}  // namespace certhook::exec
