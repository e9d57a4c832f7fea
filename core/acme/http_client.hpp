// A small HTTPS client on libcurl for the ACME protocol (curl stays inside http_client.cpp).
// One instance keeps its connection alive across requests; not thread-safe.
#pragma once
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace certhook::acme {

struct HttpResponse {
  long status = 0;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;   // names lowercased, in order

  // The first header with that (lowercase) name, or "".
  std::string header(std::string_view name) const;
};

struct HttpOptions {
  std::filesystem::path ca_bundle;   // extra trusted CA(s), added to the system store
  std::chrono::milliseconds timeout = std::chrono::seconds(60);
  std::chrono::milliseconds connect_timeout = std::chrono::seconds(10);
};

class HttpClient {
 public:
  // Throws AcmeError when ca_bundle is set but cannot be read.
  explicit HttpClient(HttpOptions options);
  ~HttpClient();
  HttpClient(const HttpClient &) = delete;
  HttpClient &operator=(const HttpClient &) = delete;

  // Transport failures (connection refused, untrusted TLS, timeouts) throw AcmeError naming the
  // URL and the fix; any HTTP status is returned.
  HttpResponse get(const std::string &url);
  HttpResponse head(const std::string &url);
  HttpResponse post(const std::string &url, std::string_view body, std::string_view content_type,
                    std::string_view accept = {});

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace certhook::acme
