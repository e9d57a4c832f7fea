// One HTTP(S) request with libcurl and its classification for certhook: 2xx ok; 5xx, 429 and
// transport errors failed (certhook retries); any other status permanent. TLS verification is
// always on; ca_bundle adds trust to the system's; redirects are never followed.
#pragma once
#include <string>
#include <utility>
#include <vector>

namespace certhook::webhook {

struct Request {
  std::string url, method = "POST";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string ca_bundle;       // PEM file of extra trusted CAs, or empty
  long timeout_ms = 30000;
};

struct Outcome {
  int status = 0;  // certhook_status: 0 ok, 1 failed, 2 permanent
  std::string message;
};

Outcome send(const Request &request);

// Connects (and for https completes a verified TLS handshake) without sending a request.
Outcome probe(const Request &request);

// The URL without userinfo, query or fragment (those may carry credentials): for messages.
std::string display_url(const std::string &url);

// Checks a header name/value or method for characters that would break the request line
// (CR, LF, NUL, or a non-token method). Returns an error text, or empty when fine.
std::string bad_header(const std::string &name, const std::string &value);
std::string bad_method(const std::string &method);

// Loads ca_bundle and counts its certificates; error text (naming the file) or empty.
std::string check_ca_bundle(const std::string &path);

}  // namespace certhook::webhook
