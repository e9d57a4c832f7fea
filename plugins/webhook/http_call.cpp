#include "http_call.hpp"

#include <curl/curl.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <memory>
#include <mutex>

namespace certhook::webhook {
namespace {

struct CurlGlobal {
  CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
};

void ensure_global() {
  static std::once_flag once;
  static std::unique_ptr<CurlGlobal> global;
  std::call_once(once, [] { global = std::make_unique<CurlGlobal>(); });
}

size_t collect(char *data, size_t size, size_t count, void *user) {
  auto *out = static_cast<std::string *>(user);
  size_t n = size * count;
  if (out->size() < 4096) out->append(data, std::min(n, 4096 - out->size()));
  return n;
}

// Loads every certificate of a PEM file into `store`; returns how many were added.
int add_pem_certificates(X509_STORE *store, const std::string &path) {
  FILE *f = std::fopen(path.c_str(), "r");
  if (!f) return -1;
  int added = 0;
  while (X509 *cert = PEM_read_X509(f, nullptr, nullptr, nullptr)) {
    if (!store || X509_STORE_add_cert(store, cert) == 1) ++added;
    X509_free(cert);
  }
  std::fclose(f);
  return added;
}

// CURLOPT_SSL_CTX_FUNCTION: the system trust stays, ca_bundle's CAs are added to it.
CURLcode add_trust(CURL *, void *ssl_ctx, void *user) {
  auto *path = static_cast<const std::string *>(user);
  X509_STORE *store = SSL_CTX_get_cert_store(static_cast<SSL_CTX *>(ssl_ctx));
  return add_pem_certificates(store, *path) > 0 ? CURLE_OK : CURLE_SSL_CACERT_BADFILE;
}

// A short printable excerpt of a response body for messages.
std::string excerpt(const std::string &body) {
  std::string out;
  for (char c : body) {
    if (out.size() >= 200) {
      out += "...";
      break;
    }
    out += (c >= 0x20 && c < 0x7f) ? c : ' ';
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

}  // namespace

std::string display_url(const std::string &url) {
  std::string u = url.substr(0, url.find_first_of("?#"));
  auto scheme = u.find("://");
  if (scheme == std::string::npos) return u;
  auto host_start = scheme + 3;
  auto path = u.find('/', host_start);
  auto at = u.rfind('@', path == std::string::npos ? std::string::npos : path);
  if (at != std::string::npos && at >= host_start) u.erase(host_start, at + 1 - host_start);
  return u;
}

std::string bad_header(const std::string &name, const std::string &value) {
  if (name.empty()) return "headers: a header name is empty";
  for (unsigned char c : name)
    if (c <= 0x20 || c >= 0x7f || c == ':')
      return "headers: \"" + name + "\" is not a valid header name";
  for (unsigned char c : value)
    if (c == '\r' || c == '\n' || c == '\0')
      return "headers: the value of " + name + " contains a line break";
  return {};
}

std::string bad_method(const std::string &method) {
  if (method.empty()) return "method: empty";
  for (unsigned char c : method)
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '-'))
      return "method: \"" + method + "\" is not an HTTP method (e.g. \"POST\" or \"PUT\")";
  return {};
}

std::string check_ca_bundle(const std::string &path) {
  int n = add_pem_certificates(nullptr, path);
  if (n < 0) return "ca_bundle: cannot read " + path;
  if (n == 0) return "ca_bundle: " + path + " holds no PEM certificate";
  return {};
}

namespace {

Outcome perform(const Request &r, bool connect_only) {
  ensure_global();
  const std::string where = display_url(r.url) + ": ";
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), &curl_easy_cleanup);
  if (!curl) return {1, where + "curl_easy_init failed"};
  CURL *c = curl.get();
  char error[CURL_ERROR_SIZE] = {0};
  std::string response;
  struct curl_slist *list = nullptr;
  bool own_type = false;
  for (const auto &header : r.headers) {
    std::string lower;
    for (char ch : header.first) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    own_type = own_type || lower == "content-type";
  }
  if (!own_type) list = curl_slist_append(list, "Content-Type: application/json");
  list = curl_slist_append(list, "Expect:");
  for (const auto &[name, value] : r.headers) list = curl_slist_append(list, (name + ": " + value).c_str());
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> headers(list, &curl_slist_free_all);

  curl_easy_setopt(c, CURLOPT_URL, r.url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, r.method.c_str());
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, r.body.c_str());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_USERAGENT, "certhook-webhook/1.0");
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, r.timeout_ms);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, r.timeout_ms);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &response);
  if (!r.ca_bundle.empty()) {
    if (curl_easy_setopt(c, CURLOPT_SSL_CTX_FUNCTION, add_trust) == CURLE_OK) {
      curl_easy_setopt(c, CURLOPT_SSL_CTX_DATA, &r.ca_bundle);
    } else {
      // not an OpenSSL build: the bundle replaces the default CA file
      curl_easy_setopt(c, CURLOPT_CAINFO, r.ca_bundle.c_str());
    }
  }

  if (connect_only) curl_easy_setopt(c, CURLOPT_CONNECT_ONLY, 1L);

  CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK) {
    std::string why = error[0] ? error : curl_easy_strerror(rc);
    while (!why.empty() && why.back() == '\n') why.pop_back();
    std::string hint;
    if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE)
      hint = " (TLS verification is always on; set ca_bundle to a PEM file with the server's CA)";
    return {1, where + why + hint};
  }
  if (connect_only) return {0, where + "reachable"};
  long code = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  std::string said = excerpt(response);
  std::string tail = said.empty() ? "" : ": " + said;
  if (code >= 200 && code < 300) return {0, where + "HTTP " + std::to_string(code)};
  if (code >= 500 || code == 429)
    return {1, where + "HTTP " + std::to_string(code) + tail + " (certhook retries)"};
  if (code >= 300 && code < 400) {
    char *location = nullptr;
    curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &location);
    return {2, where + "HTTP " + std::to_string(code) + " redirect" +
                   (location ? " to " + display_url(location) : std::string()) +
                   " not followed; set url to the final address"};
  }
  return {2, where + "HTTP " + std::to_string(code) + tail + " (not retried; fix the url, headers or secret)"};
}

}  // namespace

Outcome send(const Request &r) { return perform(r, false); }
Outcome probe(const Request &r) { return perform(r, true); }

}  // namespace certhook::webhook
