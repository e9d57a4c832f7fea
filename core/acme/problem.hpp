// ACME errors: every failure of the client becomes an AcmeError whose message reads
// "acme: ..." and, for RFC 7807/8555 problem documents,
// "acme: <type>: <detail>; subproblems: <identifier>: <type>: <detail>, ...".
#pragma once
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace certhook::acme {

struct Problem {
  std::string type;      // e.g. urn:ietf:params:acme:error:badNonce
  std::string detail;
  int status = 0;
  struct Sub {
    std::string identifier;   // the identifier's value, e.g. "bad_name!"
    std::string type, detail;
  };
  std::vector<Sub> subproblems;

  // "urn:...:rejectedIdentifier: detail; subproblems: bad_name!: urn:...:malformed: detail"
  std::string to_string() const;
  bool is(std::string_view short_type) const;   // is("badNonce")
};

// Parses a problem document (JSON text); nullopt-like empty type when it is not one.
Problem parse_problem(std::string_view json_text, int http_status);

struct AcmeError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Thrown for a problem document the server returned.
struct AcmeProblem : AcmeError {
  AcmeProblem(Problem p, const std::string &context);
  Problem problem;
};

}  // namespace certhook::acme
