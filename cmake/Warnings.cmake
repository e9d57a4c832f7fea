# Warnings as an INTERFACE target: link it, never set global flags.
add_library(certhook_warnings INTERFACE)
target_compile_options(certhook_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wcast-align -Wformat=2
  -Wimplicit-fallthrough)
add_library(certhook::warnings ALIAS certhook_warnings)
