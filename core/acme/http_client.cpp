#include "acme/http_client.hpp"

#include <curl/curl.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <mutex>

#include "acme/problem.hpp"

namespace certhook::acme {

std::string HttpResponse::header(std::string_view name) const {
  for (const auto &[k, v] : headers)
    if (k == name) return v;
  return {};
}

namespace {

std::once_flag curl_once;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

size_t on_body(char *data, size_t size, size_t n, void *user) {
  static_cast<std::string *>(user)->append(data, size * n);
  return size * n;
}

size_t on_header(char *data, size_t size, size_t n, void *user) {
  auto *headers = static_cast<std::vector<std::pair<std::string, std::string>> *>(user);
  std::string_view line(data, size * n);
  if (line.starts_with("HTTP/")) headers->clear();   // a new response (e.g. after 100-continue)
  auto colon = line.find(':');
  if (colon != std::string_view::npos)
    headers->emplace_back(lower(trim(line.substr(0, colon))), trim(line.substr(colon + 1)));
  return size * n;
}

// Adds the operator's CA bundle to the store curl built from the system defaults.
CURLcode add_ca_bundle(CURL *, void *ssl_ctx, void *user) {
  const auto *bundle = static_cast<const std::filesystem::path *>(user);
  X509_STORE *store = SSL_CTX_get_cert_store(static_cast<SSL_CTX *>(ssl_ctx));
  if (!store || X509_STORE_load_file(store, bundle->c_str()) != 1) return CURLE_SSL_CACERT_BADFILE;
  return CURLE_OK;
}

}  // namespace

struct HttpClient::Impl {
  HttpOptions options;
  CURL *curl = nullptr;
  char errbuf[CURL_ERROR_SIZE] = {};

  HttpResponse perform(const std::string &method, const std::string &url, std::string_view body,
                       std::string_view content_type, std::string_view accept) {
    curl_easy_reset(curl);
    HttpResponse r;
    errbuf[0] = '\0';
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "certhook/0.1 (ACME client)");
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "https,http");
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options.timeout.count()));
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(options.connect_timeout.count()));
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &r.body);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &r.headers);
    if (!options.ca_bundle.empty()) {
      curl_easy_setopt(curl, CURLOPT_CA_CACHE_TIMEOUT, 0L);   // the store is modified per handle
      curl_easy_setopt(curl, CURLOPT_SSL_CTX_FUNCTION, add_ca_bundle);
      curl_easy_setopt(curl, CURLOPT_SSL_CTX_DATA, &options.ca_bundle);
    }
    curl_slist *hdrs = nullptr;
    std::string ct, ac;
    if (method == "HEAD") {
      curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    } else if (method == "POST") {
      curl_easy_setopt(curl, CURLOPT_POST, 1L);
      curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
      curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
      ct = "Content-Type: " + std::string(content_type);
      hdrs = curl_slist_append(hdrs, ct.c_str());
      hdrs = curl_slist_append(hdrs, "Expect:");
    }
    if (!accept.empty()) {
      ac = "Accept: " + std::string(accept);
      hdrs = curl_slist_append(hdrs, ac.c_str());
    }
    if (hdrs) curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
    CURLcode rc = curl_easy_perform(curl);
    curl_slist_free_all(hdrs);
    if (rc != CURLE_OK) fail(rc, url);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r.status);
    return r;
  }

  [[noreturn]] void fail(CURLcode rc, const std::string &url) {
    std::string why = errbuf[0] ? errbuf : curl_easy_strerror(rc);
    long os_errno = 0;
    curl_easy_getinfo(curl, CURLINFO_OS_ERRNO, &os_errno);
    switch (rc) {
      case CURLE_COULDNT_CONNECT:
        if (os_errno == ECONNREFUSED)
          throw AcmeError("acme: cannot connect to " + url +
                          ": connection refused; is the ACME server running and [acme] directory right?");
        throw AcmeError("acme: cannot connect to " + url + ": " + why);
      case CURLE_COULDNT_RESOLVE_HOST:
        throw AcmeError("acme: cannot resolve the host of " + url + ": " + why +
                        "; check [acme] directory");
      case CURLE_PEER_FAILED_VERIFICATION:
        throw AcmeError("acme: " + url + ": the server's TLS certificate is not trusted (" + why +
                        "); set [acme] ca_bundle to the CA that signed it");
      case CURLE_SSL_CACERT_BADFILE:
        throw AcmeError("acme: ca_bundle " + options.ca_bundle.string() +
                        ": cannot load it as PEM certificates; fix [acme] ca_bundle");
      case CURLE_OPERATION_TIMEDOUT:
        throw AcmeError("acme: " + url + ": timed out (" + why + ")");
      default:
        throw AcmeError("acme: " + url + ": " + why);
    }
  }
};

HttpClient::HttpClient(HttpOptions options) : impl_(std::make_unique<Impl>()) {
  std::call_once(curl_once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (!options.ca_bundle.empty()) {
    std::ifstream in(options.ca_bundle);
    if (!in)
      throw AcmeError("acme: ca_bundle " + options.ca_bundle.string() + ": cannot read it (" +
                      std::strerror(errno) + "); fix [acme] ca_bundle");
  }
  impl_->options = std::move(options);
  impl_->curl = curl_easy_init();
  if (!impl_->curl) throw AcmeError("acme: cannot initialise libcurl");
}

HttpClient::~HttpClient() {
  if (impl_ && impl_->curl) curl_easy_cleanup(impl_->curl);
}

HttpResponse HttpClient::get(const std::string &url) { return impl_->perform("GET", url, {}, {}, {}); }
HttpResponse HttpClient::head(const std::string &url) { return impl_->perform("HEAD", url, {}, {}, {}); }
HttpResponse HttpClient::post(const std::string &url, std::string_view body,
                              std::string_view content_type, std::string_view accept) {
  return impl_->perform("POST", url, body, content_type, accept);
}

}  // namespace certhook::acme
