#include "acme/problem.hpp"

#include <nlohmann/json.hpp>

namespace certhook::acme {

namespace {
std::string str(const nlohmann::json &j, const char *key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}
}  // namespace

std::string Problem::to_string() const {
  std::string out = type.empty() ? "error" : type;
  if (!detail.empty()) out += ": " + detail;
  if (type.empty() && status != 0) out += " (HTTP " + std::to_string(status) + ")";
  if (!subproblems.empty()) {
    out += "; subproblems: ";
    for (std::size_t i = 0; i < subproblems.size(); ++i) {
      const Sub &s = subproblems[i];
      if (i) out += ", ";
      if (!s.identifier.empty()) out += s.identifier + ": ";
      out += s.type;
      if (!s.detail.empty()) out += ": " + s.detail;
    }
  }
  return out;
}

bool Problem::is(std::string_view short_type) const {
  constexpr std::string_view prefix = "urn:ietf:params:acme:error:";
  return type.size() == prefix.size() + short_type.size() && type.starts_with(prefix) &&
         type.ends_with(short_type);
}

Problem parse_problem(std::string_view json_text, int http_status) {
  Problem p;
  p.status = http_status;
  auto j = nlohmann::json::parse(json_text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    std::string snippet(json_text.substr(0, 200));
    p.detail = snippet.empty() ? "empty response" : "unexpected response: " + snippet;
    return p;
  }
  p.type = str(j, "type");
  p.detail = str(j, "detail");
  if (auto it = j.find("subproblems"); it != j.end() && it->is_array()) {
    for (const auto &s : *it) {
      if (!s.is_object()) continue;
      Problem::Sub sub{"", str(s, "type"), str(s, "detail")};
      if (auto id = s.find("identifier"); id != s.end() && id->is_object()) sub.identifier = str(*id, "value");
      p.subproblems.push_back(std::move(sub));
    }
  }
  return p;
}

namespace {

// What an operator can do about the problems a configuration causes (RFC 8555 §6.7).
std::string hint(const Problem &p) {
  if (p.is("invalidContact") || p.is("unsupportedContact"))
    return "; fix [acme] contact (at most a few \"mailto:user@example.com\" addresses)";
  if (p.is("rejectedIdentifier") || p.is("unsupportedIdentifier"))
    return "; the CA will not issue for this name: remove it from the certificate's domains";
  if (p.is("externalAccountRequired"))
    return "; this CA requires external account binding, which certhook does not support";
  if (p.is("unauthorized") || p.is("connection") || p.is("incorrectResponse") || p.is("dns"))
    return "; check that the name's http://.../.well-known/acme-challenge/ URL reaches the [challenge] responder "
           "(standalone listen address, or the webroot your web server serves)";
  if (p.is("rateLimited")) return "; the CA's rate limit: try again later";
  return "";
}

}  // namespace

AcmeProblem::AcmeProblem(Problem p, const std::string &context)
    : AcmeError("acme: " + p.to_string() + (context.empty() ? std::string() : " (" + context + ")") + hint(p)),
      problem(std::move(p)) {}

}  // namespace certhook::acme
