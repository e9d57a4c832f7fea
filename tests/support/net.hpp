// Loopback helpers for tests that start servers.
#pragma once
#include <cstdint>

namespace certhook::test {

// A TCP port on 127.0.0.1 that was free a moment ago (the kernel's choice for port 0).
std::uint16_t free_port();

}  // namespace certhook::test
