#include "acme/acme_client.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <chrono>

#include "acme/base64url.hpp"

namespace certhook::acme {

using json = nlohmann::json;

namespace {

std::string str(const json &j, const char *key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

json parse_json(const HttpResponse &r, const std::string &context) {
  auto j = json::parse(r.body, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    throw AcmeError("acme: " + context + ": the server sent invalid JSON (HTTP " + std::to_string(r.status) + ")");
  return j;
}

bool is_problem(const HttpResponse &r) { return r.status >= 400; }

std::optional<Problem> problem_in(const json &j, const char *key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_object()) return std::nullopt;
  return parse_problem(it->dump(), 0);
}

std::optional<Millis> retry_after_of(const HttpResponse &r) {
  return parse_retry_after(r.header("retry-after"), std::chrono::system_clock::now());
}

Order order_from(const json &j, const HttpResponse &r, std::string url) {
  Order o;
  o.url = std::move(url);
  o.status = str(j, "status");
  o.finalize = str(j, "finalize");
  o.certificate = str(j, "certificate");
  if (auto it = j.find("authorizations"); it != j.end() && it->is_array())
    for (const auto &a : *it)
      if (a.is_string()) o.authorizations.push_back(a.get<std::string>());
  o.error = problem_in(j, "error");
  o.retry_after = retry_after_of(r);
  return o;
}

}  // namespace

const Challenge *Authorization::find(std::string_view type) const {
  for (const auto &c : challenges)
    if (c.type == type) return &c;
  return nullptr;
}

struct AcmeClient::Reply {
  HttpResponse http;
};

AcmeClient::AcmeClient(std::string directory_url, HttpOptions http, int max_bad_nonce_retries)
    : directory_url_(std::move(directory_url)), http_(std::move(http)), max_retries_(max_bad_nonce_retries) {}

AcmeClient::~AcmeClient() = default;

void AcmeClient::load_directory() {
  HttpResponse r = http_.get(directory_url_);
  if (r.status != 200)
    throw AcmeError("acme: " + directory_url_ + ": directory request answered HTTP " + std::to_string(r.status) +
                    "; check [acme] directory");
  auto j = json::parse(r.body, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    throw AcmeError("acme: " + directory_url_ + ": not an ACME directory (invalid JSON); check [acme] directory");
  dir_.new_nonce = str(j, "newNonce");
  dir_.new_account = str(j, "newAccount");
  dir_.new_order = str(j, "newOrder");
  if (dir_.new_nonce.empty() || dir_.new_account.empty() || dir_.new_order.empty())
    throw AcmeError("acme: " + directory_url_ + ": not an ACME directory (newNonce/newAccount/newOrder missing)");
  if (auto n = r.header("replay-nonce"); !n.empty()) nonce_ = n;
}

std::string AcmeClient::take_nonce() {
  if (nonce_.empty()) {
    HttpResponse r = http_.head(dir_.new_nonce);
    nonce_ = r.header("replay-nonce");
    if (nonce_.empty())
      throw AcmeError("acme: " + dir_.new_nonce + ": no Replay-Nonce in the newNonce response (HTTP " +
                      std::to_string(r.status) + ")");
  }
  return std::exchange(nonce_, std::string());
}

AcmeClient::Reply AcmeClient::signed_post(const std::string &url, const std::optional<std::string> &payload,
                                          const std::string &context, std::string_view accept) {
  if (!key_) throw AcmeError("acme: internal error: signed request before the account key is set");
  for (int attempt = 0;; ++attempt) {
    std::string body = jws_sign(*key_, url, take_nonce(), kid_, payload);
    HttpResponse r = http_.post(url, body, "application/jose+json", accept);
    if (auto n = r.header("replay-nonce"); !n.empty()) nonce_ = n;
    if (!is_problem(r)) return Reply{std::move(r)};
    Problem p = parse_problem(r.body, static_cast<int>(r.status));
    if (p.is("badNonce") && attempt < max_retries_) {
      ++bad_nonce_retries_;
      spdlog::trace("acme: {}: badNonce, retrying ({} of {})", context, attempt + 1, max_retries_);
      continue;   // with the nonce from the error response (or a fresh one)
    }
    if (p.is("badNonce"))
      throw AcmeProblem(std::move(p), context + ", after " + std::to_string(attempt + 1) + " rejected nonces");
    throw AcmeProblem(std::move(p), context);
  }
}

std::string AcmeClient::register_account(const AccountKey &key, const std::vector<std::string> &contact) {
  key_ = &key;
  kid_.clear();
  json payload;
  payload["termsOfServiceAgreed"] = true;
  if (!contact.empty()) payload["contact"] = contact;
  Reply r = signed_post(dir_.new_account, payload.dump(), "new account");
  kid_ = r.http.header("location");
  if (kid_.empty()) throw AcmeError("acme: new account: the server sent no account URL (Location)");
  auto j = json::parse(r.http.body, nullptr, false);
  if (j.is_object() && str(j, "status") != "" && str(j, "status") != "valid")
    throw AcmeError("acme: account " + kid_ + " is " + str(j, "status") +
                    "; move the account directory away to register a new one");
  return kid_;
}

void AcmeClient::update_contact(const std::vector<std::string> &contact) {
  json payload;
  payload["contact"] = contact;
  signed_post(kid_, payload.dump(), "update account contact");
}

Order AcmeClient::new_order(const std::vector<std::string> &domains) {
  json ids = json::array();
  for (const auto &d : domains) ids.push_back({{"type", "dns"}, {"value", d}});
  json payload;
  payload["identifiers"] = ids;
  std::string names;
  for (const auto &d : domains) names += (names.empty() ? "" : ", ") + d;
  Reply r = signed_post(dir_.new_order, payload.dump(), "new order for " + names);
  std::string url = r.http.header("location");
  if (url.empty()) throw AcmeError("acme: new order: the server sent no order URL (Location)");
  return order_from(parse_json(r.http, "new order"), r.http, url);
}

Order AcmeClient::get_order(const std::string &url) {
  Reply r = signed_post(url, std::nullopt, "order");
  return order_from(parse_json(r.http, "order " + url), r.http, url);
}

Authorization AcmeClient::get_authorization(const std::string &url) {
  Reply r = signed_post(url, std::nullopt, "authorization");
  json j = parse_json(r.http, "authorization " + url);
  Authorization a;
  a.url = url;
  a.status = str(j, "status");
  if (auto id = j.find("identifier"); id != j.end() && id->is_object()) a.identifier = str(*id, "value");
  if (auto cs = j.find("challenges"); cs != j.end() && cs->is_array()) {
    for (const auto &c : *cs) {
      if (!c.is_object()) continue;
      a.challenges.push_back(Challenge{str(c, "type"), str(c, "url"), str(c, "token"), str(c, "status"),
                                       problem_in(c, "error")});
    }
  }
  a.retry_after = retry_after_of(r.http);
  return a;
}

void AcmeClient::answer_challenge(const std::string &challenge_url) {
  signed_post(challenge_url, std::string("{}"), "challenge");
}

Order AcmeClient::finalize(const Order &order, const std::string &csr_der) {
  json payload;
  payload["csr"] = base64url_encode(csr_der);
  Reply r = signed_post(order.finalize, payload.dump(), "finalize");
  return order_from(parse_json(r.http, "finalize"), r.http, order.url);
}

std::string AcmeClient::download_certificate(const std::string &url) {
  Reply r = signed_post(url, std::nullopt, "certificate download", "application/pem-certificate-chain");
  return std::move(r.http.body);
}

}  // namespace certhook::acme
