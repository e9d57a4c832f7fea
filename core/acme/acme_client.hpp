// The RFC 8555 protocol: directory, nonces, signed requests (with bounded badNonce retries),
// account, orders, authorizations, challenges, finalize and certificate download.
// Every failure throws AcmeError (AcmeProblem for problem documents).
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "acme/http_client.hpp"
#include "acme/jws.hpp"
#include "acme/poll.hpp"
#include "acme/problem.hpp"

namespace certhook::acme {

struct Directory {
  std::string new_nonce, new_account, new_order;
};

struct Challenge {
  std::string type, url, token, status;
  std::optional<Problem> error;
};

struct Authorization {
  std::string url, identifier, status;
  std::vector<Challenge> challenges;
  std::optional<Millis> retry_after;
  const Challenge *find(std::string_view type) const;
};

struct Order {
  std::string url, status, finalize, certificate;
  std::vector<std::string> authorizations;
  std::optional<Problem> error;
  std::optional<Millis> retry_after;
};

class AcmeClient {
 public:
  AcmeClient(std::string directory_url, HttpOptions http, int max_bad_nonce_retries = 20);
  ~AcmeClient();

  void load_directory();
  const Directory &directory() const { return dir_; }

  // newAccount with the key as `jwk` (creates the account, or finds the existing one for this key)
  // and remembers its URL as `kid` for every later request. Returns the account URL.
  std::string register_account(const AccountKey &key, const std::vector<std::string> &contact);
  // Replaces the account's contact.
  void update_contact(const std::vector<std::string> &contact);

  Order new_order(const std::vector<std::string> &domains);
  Order get_order(const std::string &url);
  Authorization get_authorization(const std::string &url);
  void answer_challenge(const std::string &challenge_url);
  Order finalize(const Order &order, const std::string &csr_der);
  std::string download_certificate(const std::string &url);   // PEM chain

  int bad_nonce_retries() const { return bad_nonce_retries_; }   // total, for diagnostics

 private:
  struct Reply;
  Reply signed_post(const std::string &url, const std::optional<std::string> &payload,
                    const std::string &context, std::string_view accept = {});
  std::string take_nonce();

  std::string directory_url_;
  HttpClient http_;
  Directory dir_;
  const AccountKey *key_ = nullptr;
  std::string kid_;
  std::string nonce_;
  int max_retries_;
  int bad_nonce_retries_ = 0;
};

}  // namespace certhook::acme
