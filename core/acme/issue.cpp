#include "acme/issue.hpp"

#include <spdlog/spdlog.h>

#include <exception>
#include <memory>
#include <optional>
#include <algorithm>
#include <thread>
#include <type_traits>

#include "acme/account_store.hpp"
#include "acme/acme_client.hpp"
#include "acme/cert_key.hpp"
#include "acme/challenge.hpp"
#include "acme/poll.hpp"
#include "acme/problem.hpp"
#include "store/live_store.hpp"
#include "util/duration.hpp"

namespace certhook {

using namespace acme;

namespace {

bool still_pending(const std::string &status) { return status == "pending" || status == "processing"; }

// One issuance, step by step; each step returns false after recording the error.
class Issuance {
 public:
  explicit Issuance(const IssueRequest &r) : req_(r) {}

  bool directory() {
    return step("directory", [&] {
      if (!valid_name(req_.name))
        throw AcmeError("acme: certificate name \"" + req_.name + "\" is invalid; use [a-z0-9][a-z0-9._-]* without \"..\"");
      if (req_.domains.empty()) throw AcmeError("acme: " + req_.name + ": no domains to issue for; set domains in [[certificate]]");
      if (req_.state_dir.empty()) throw AcmeError("acme: " + req_.name + ": no state directory given");
      HttpOptions http;
      http.ca_bundle = req_.acme.ca_bundle;
      client_ = std::make_unique<AcmeClient>(req_.acme.directory, std::move(http));
      client_->load_directory();
      log("directory loaded from {}", req_.acme.directory);
    });
  }

  bool account() {
    return step("account", [&] {
      stored_.emplace(load_or_create_account(req_.state_dir, req_.acme.directory));
      std::string url = client_->register_account(stored_->key, req_.acme.contact);
      bool changed = url != stored_->url;
      if (!stored_->new_key && !stored_->url.empty() && stored_->contact != req_.acme.contact) {
        client_->update_contact(req_.acme.contact);
        changed = true;
        log("account contact updated");
      }
      if (changed || stored_->contact != req_.acme.contact) {
        stored_->url = url;
        stored_->contact = req_.acme.contact;
        save_registration(*stored_, req_.acme.directory);
      }
      log("account {} ({})", url, stored_->new_key ? "new" : "existing");
    });
  }

  bool order() {
    return step("order", [&] {
      order_ = client_->new_order(req_.domains);
      log("order created ({})", order_.status);
      if (order_.status == "invalid") throw order_failure("new order");
    });
  }

  bool authorize() {
    return step("authorize", [&] {
      struct Pending {
        Authorization authz;
        Challenge challenge;
      };
      std::vector<Pending> pending;
      for (const auto &url : order_.authorizations) {
        Authorization a = client_->get_authorization(url);
        if (a.status == "valid") {
          log("{}: authorization already valid", a.identifier);
          continue;
        }
        if (a.status != "pending") throw authz_failure(a);
        const Challenge *c = a.find(req_.challenge.type);
        if (!c) throw AcmeError("acme: " + a.identifier + ": the server offers no " + req_.challenge.type + " challenge");
        pending.push_back({a, *c});
      }
      if (pending.empty()) return;
      auto responder = make_responder(req_.challenge);
      for (const auto &p : pending) responder->add(p.challenge.token, key_authorization(p.challenge.token, stored_->key));
      responder->start();
      for (const auto &p : pending) {
        if (p.challenge.status == "pending") client_->answer_challenge(p.challenge.url);
        log("{}: {} challenge answered (token {})", p.authz.identifier, p.challenge.type, p.challenge.token);
      }
      // Poll every open authorization in one round per delay, so that names validate in parallel.
      PollPolicy policy;
      policy.timeout = req_.poll_timeout;
      Poller poller(policy, Clock::now());
      std::optional<Millis> retry_after;
      while (!pending.empty()) {
        auto delay = poller.next_delay(retry_after, Clock::now());
        if (!delay)
          throw AcmeError("acme: " + req_.name + ": authorization for " + pending.front().authz.identifier +
                          " still pending after " + format_duration(req_.poll_timeout) +
                          "; the CA did not finish in time, try again later");
        std::this_thread::sleep_for(*delay);
        retry_after.reset();
        std::vector<Pending> still;
        for (auto &p : pending) {
          Authorization a = client_->get_authorization(p.authz.url);
          if (still_pending(a.status)) {
            if (a.retry_after) retry_after = std::max(retry_after.value_or(Millis(0)), *a.retry_after);
            still.push_back(std::move(p));
            continue;
          }
          if (a.status != "valid") throw authz_failure(a);
          log("{}: authorization valid", a.identifier);
        }
        pending = std::move(still);
      }
      responder->stop();
    });
  }

  bool finalize() {
    return step("finalize", [&] {
      if (order_.status != "ready" && order_.status != "valid") {
        order_ = client_->get_order(order_.url);   // authorizations are valid: usually ready now
        if (still_pending(order_.status))
          order_ = poll([&] { return client_->get_order(order_.url); }, "order", order_.status, order_.retry_after);
      }
      if (order_.status == "invalid" || (order_.status != "ready" && order_.status != "valid"))
        throw order_failure("order");
      choose_key();
      if (order_.status == "ready") {
        order_ = client_->finalize(order_, make_csr_der(key_pem_, req_.domains));
        log("order finalized ({})", order_.status);
      }
      if (still_pending(order_.status) || order_.status == "ready")
        order_ = poll([&] { return client_->get_order(order_.url); }, "order", order_.status, order_.retry_after);
      if (order_.status != "valid" || order_.certificate.empty()) throw order_failure("finalize");
    });
  }

  bool download() {
    return step("download", [&] {
      chain_ = split_chain(client_->download_certificate(order_.certificate));
      if (!certificate_matches_key(chain_.leaf, key_pem_))
        throw AcmeError("acme: " + req_.name + ": the issued certificate does not match the key it was requested for");
      log("certificate downloaded ({} bytes of chain)", chain_.chain.size());
    });
  }

  bool store() {
    return step("store", [&] {
      StoredVersion v = store_version(req_.state_dir, req_.name,
                                      IssuedVersion{chain_.leaf, chain_.chain, chain_.fullchain, key_pem_});
      outcome_.live_dir = v.live_dir;
      log("stored as version {} in {}", v.number, v.version_dir.string());
    });
  }

  IssueOutcome finish(bool ok) {
    outcome_.ok = ok;
    if (ok && client_ && client_->bad_nonce_retries() > 0)
      log("{} rejected nonces retried", client_->bad_nonce_retries());
    return outcome_;
  }

 private:
  template <class... A>
  void log(spdlog::format_string_t<A...> fmt, A &&...args) {
    spdlog::debug("acme: {}: {}", req_.name, fmt::format(fmt, std::forward<A>(args)...));
  }

  template <class F>
  bool step(const char *what, F &&body) {
    try {
      body();
      return true;
    } catch (const std::exception &e) {
      outcome_.error = e.what();
    } catch (...) {
      outcome_.error = "acme: unexpected failure";
    }
    spdlog::debug("acme: {}: {} failed: {}", req_.name, what, outcome_.error);
    return false;
  }

  // Waits, then polls `fetch`, while the resource (last seen as `status`) is pending or
  // processing, until the poll deadline. Waiting first matters: right after a finalize or a
  // challenge answer the state is known, and Pebble 2.4 can deadlock an order that is fetched
  // while its certificate is being issued (recursive read lock in its Order handler).
  template <class Fetch>
  std::invoke_result_t<Fetch> poll(Fetch fetch, const std::string &what, std::string status,
                                   std::optional<Millis> retry_after) {
    PollPolicy policy;
    policy.timeout = req_.poll_timeout;
    Poller poller(policy, Clock::now());
    for (;;) {
      auto delay = poller.next_delay(retry_after, Clock::now());
      if (!delay)
        throw AcmeError("acme: " + req_.name + ": " + what + " still " + status + " after " +
                        format_duration(req_.poll_timeout) + "; the CA did not finish in time, try again later");
      std::this_thread::sleep_for(*delay);
      auto resource = fetch();
      if (!still_pending(resource.status)) return resource;
      status = resource.status;
      retry_after = resource.retry_after;
    }
  }

  void choose_key() {
    if (!key_pem_.empty()) return;
    if (req_.reuse_key) {
      if (auto prev = previous_key(req_.state_dir, req_.name)) {
        if (key_type_of(*prev) == req_.key_type) {
          key_pem_ = *prev;
          outcome_.reused_key = true;
          log("reusing the previous {} key", to_string(req_.key_type));
          return;
        }
        spdlog::info("acme: {}: previous key is not {}; generating a new key", req_.name, to_string(req_.key_type));
      }
    }
    key_pem_ = generate_certificate_key(req_.key_type);
    log("new {} key generated", to_string(req_.key_type));
  }

  AcmeError order_failure(const std::string &context) const {
    if (order_.error) return AcmeProblem(*order_.error, context);
    return AcmeError("acme: " + req_.name + ": " + context + ": order is " + order_.status);
  }

  AcmeError authz_failure(const Authorization &a) const {
    for (const auto &c : a.challenges)
      if (c.error)
        return AcmeProblem(*c.error, a.identifier + ": " + c.type + " validation failed");
    return AcmeError("acme: " + a.identifier + ": authorization is " + a.status);
  }

  const IssueRequest &req_;
  IssueOutcome outcome_;
  std::unique_ptr<AcmeClient> client_;
  std::optional<StoredAccount> stored_;
  Order order_;
  std::string key_pem_;
  SplitChain chain_;
};

}  // namespace

IssueOutcome issue_certificate(const IssueRequest &request) {
  Issuance run(request);
  bool ok = run.directory() && run.account() && run.order() && run.authorize() && run.finalize() &&
            run.download() && run.store();
  return run.finish(ok);
}

bool renewal_due(std::chrono::system_clock::time_point not_before,
                 std::chrono::system_clock::time_point not_after, Duration renew_before,
                 std::chrono::system_clock::time_point now) {
  if (now >= not_after - renew_before) return true;
  auto lifetime = not_after - not_before;
  return (not_after - now) * 3 < lifetime;
}

}  // namespace certhook
