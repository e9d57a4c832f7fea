#include "util/log.hpp"

#include <spdlog/sinks/stdout_sinks.h>

namespace certhook {

void init_logging(Verbosity v) {
  auto logger = spdlog::stderr_logger_mt("certhook");
  logger->set_pattern("certhook: %^%l%$: %v");
  switch (v) {
    case Verbosity::quiet: logger->set_level(spdlog::level::warn); break;
    case Verbosity::normal: logger->set_level(spdlog::level::info); break;
    case Verbosity::verbose: logger->set_level(spdlog::level::debug); break;
  }
  spdlog::set_default_logger(logger);
}

}  // namespace certhook
