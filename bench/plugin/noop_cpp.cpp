// The same no-op, written with the C++ wrapper: adds the shared libstdc++ load to each call.
#include <certhook/plugin.hpp>

class Noop : public certhook::Plugin {
 public:
  explicit Noop(certhook::Context &) {}
  void deploy(certhook::Context &, const certhook::Event &) override {}
};

CERTHOOK_PLUGIN(Noop, "noop-cpp", "1.0", "does nothing (C++ wrapper)", nullptr)
