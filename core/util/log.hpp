// Logging: spdlog to stderr, one line per event, "subject: message".
#pragma once
#include <spdlog/spdlog.h>

namespace certhook {

enum class Verbosity { quiet, normal, verbose };
void init_logging(Verbosity v);

}  // namespace certhook
