// base64url without padding (RFC 4648 §5, as JWS and ACME use it).
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace certhook::acme {

std::string base64url_encode(std::string_view bytes);
// nullopt when `text` is not unpadded base64url.
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace certhook::acme
