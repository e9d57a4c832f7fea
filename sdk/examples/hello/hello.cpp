// hello: a minimal certhook plugin. For every certificate it deploys, it writes the file
// <dir>/<certificate name>.hello containing "<greeting> <fingerprint>\n".
#include <certhook/plugin.hpp>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <system_error>

namespace {

class Hello : public certhook::Plugin {
 public:
  // Options are validated by certhook before the plugin runs: `dir` is present and absolute.
  explicit Hello(certhook::Context &ctx)
      : dir_(ctx.require<std::filesystem::path>("dir")),
        greeting_(ctx.get_or<std::string>("greeting", "hello")) {}

  void preflight(certhook::Context &ctx, const certhook::Event &) override {
    if (!std::filesystem::is_directory(dir_))
      throw certhook::PermanentError(dir_.string() + ": not a directory; create it or fix option dir");
    ctx.info("would write marker files into " + dir_.string());
  }

  void deploy(certhook::Context &ctx, const certhook::Event &event) override {
    for (const auto &cert : event.certificates) {
      const auto file = dir_ / (cert.name + ".hello");
      const auto tmp = dir_ / (cert.name + ".hello.tmp");
      {
        std::ofstream out(tmp, std::ios::trunc);
        out << greeting_ << ' ' << cert.fingerprint << '\n';
        if (!out.flush())  // a full disk may clear up: a plain exception means "retry"
          throw std::runtime_error(tmp.string() + ": cannot write: " + std::strerror(errno));
      }
      std::filesystem::rename(tmp, file);  // throws filesystem_error naming both paths
      ctx.info("wrote " + file.string());
    }
  }

 private:
  std::filesystem::path dir_;
  std::string greeting_;
};

const certhook_option_spec options[] = {
    certhook::option("dir", CERTHOOK_OPTION_PATH, "directory for the marker files",
                     CERTHOOK_OPTION_REQUIRED),
    certhook::option("greeting", CERTHOOK_OPTION_STRING, "first word of each marker file", 0,
                     "\"hello\""),
};

}  // namespace

CERTHOOK_PLUGIN(Hello, "hello", "1.0.0", "writes <dir>/<certificate>.hello per certificate", options)
