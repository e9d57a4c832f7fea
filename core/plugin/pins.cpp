#include "plugin/pins.hpp"

#include <nlohmann/json.hpp>

#include <stdexcept>
#include <system_error>

#include "util/atomic_file.hpp"
#include "util/crypto.hpp"

namespace certhook {

namespace fs = std::filesystem;

fs::path pins_path(const fs::path &state_dir) { return state_dir / "plugins" / "pins.json"; }

std::string pin_key(const fs::path &file) {
  std::error_code ec;
  fs::path p = fs::weakly_canonical(fs::absolute(file), ec);
  return (ec ? fs::absolute(file).lexically_normal() : p).string();
}

Pins read_pins(const fs::path &state_dir) {
  const fs::path file = pins_path(state_dir);
  std::error_code ec;
  if (!fs::exists(file, ec)) return {};
  std::string text;
  try {
    text = read_file(file);
  } catch (const std::exception &e) {
    throw std::runtime_error(file.string() + ": cannot read: " + e.what());
  }
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    throw std::runtime_error(file.string() + ": not a JSON object of \"file\": \"sha256\"; "
                             "restore it, or remove it and reinstall plugins with certhook plugin install");
  Pins pins;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (!it.value().is_string())
      throw std::runtime_error(file.string() + ": the pin of " + it.key() +
                               " is not a string; restore the file or reinstall the plugin");
    pins[it.key()] = it.value().get<std::string>();
  }
  return pins;
}

void write_pins(const fs::path &state_dir, const Pins &pins) {
  const fs::path file = pins_path(state_dir);
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  if (ec) throw std::system_error(ec, file.parent_path().string() + ": cannot create");
  nlohmann::json j = nlohmann::json::object();
  for (const auto &[k, v] : pins) j[k] = v;
  write_file_atomic(file, j.dump(2) + "\n", 0644);
}

std::string file_sha256(const fs::path &file) { return sha256_hex(read_file(file)); }

}  // namespace certhook
