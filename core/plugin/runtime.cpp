#include "plugin/runtime.hpp"

#include <certhook/plugin.h>
#include <dlfcn.h>
#include <elf.h>

#include <boost/dll/shared_library.hpp>

#include <cstddef>
#include <cstring>
#include <deque>
#include <fstream>
#include <iostream>
#include <memory>
#include <vector>

struct certhook_context {
  const nlohmann::json *options = nullptr;
  std::string message;
};

namespace certhook::plugin {
namespace {

namespace fs = std::filesystem;

// ---- host API over a JSON options object --------------------------------------------------
const nlohmann::json *option(certhook_context *ctx, const char *key) {
  if (!ctx || !ctx->options || !key) return nullptr;
  auto it = ctx->options->find(key);
  return it == ctx->options->end() || it->is_null() ? nullptr : &*it;
}

void api_log(certhook_context *, int level, const char *message) {
  static constexpr const char *names[] = {"debug", "info", "warning", "error"};
  const char *name = level >= 0 && level <= 3 ? names[level] : "info";
  std::cerr << name << ": " << (message ? message : "") << '\n' << std::flush;
}
void api_set_message(certhook_context *ctx, const char *message) {
  if (ctx) ctx->message = message ? message : "";
}
int api_string(certhook_context *ctx, const char *key, const char **out) {
  auto *v = option(ctx, key);
  if (!v || !v->is_string() || !out) return 0;
  *out = v->get_ref<const std::string &>().c_str();
  return 1;
}
int api_int(certhook_context *ctx, const char *key, int64_t *out) {
  auto *v = option(ctx, key);
  if (!v || !v->is_number_integer() || !out) return 0;
  *out = v->get<int64_t>();
  return 1;
}
int api_bool(certhook_context *ctx, const char *key, int *out) {
  auto *v = option(ctx, key);
  if (!v || !v->is_boolean() || !out) return 0;
  *out = v->get<bool>() ? 1 : 0;
  return 1;
}
int api_list_size(certhook_context *ctx, const char *key, size_t *count) {
  auto *v = option(ctx, key);
  if (!v || !v->is_array() || !count) return 0;
  *count = v->size();
  return 1;
}
const char *api_list_item(certhook_context *ctx, const char *key, size_t index) {
  auto *v = option(ctx, key);
  if (!v || !v->is_array() || index >= v->size() || !(*v)[index].is_string()) return nullptr;
  return (*v)[index].get_ref<const std::string &>().c_str();
}
int api_table_size(certhook_context *ctx, const char *key, size_t *count) {
  auto *v = option(ctx, key);
  if (!v || !v->is_object() || !count) return 0;
  *count = v->size();
  return 1;
}
const nlohmann::json *table_entry(certhook_context *ctx, const char *key, size_t index,
                                  const std::string **name) {
  auto *v = option(ctx, key);
  if (!v || !v->is_object() || index >= v->size()) return nullptr;
  auto it = v->begin();
  std::advance(it, static_cast<std::ptrdiff_t>(index));
  *name = &it.key();
  return &*it;
}
const char *api_table_key(certhook_context *ctx, const char *key, size_t index) {
  const std::string *name = nullptr;
  return table_entry(ctx, key, index, &name) ? name->c_str() : nullptr;
}
const char *api_table_value(certhook_context *ctx, const char *key, size_t index) {
  const std::string *name = nullptr;
  auto *v = table_entry(ctx, key, index, &name);
  return v && v->is_string() ? v->get_ref<const std::string &>().c_str() : nullptr;
}

const certhook_host_api host_api = {
    sizeof(certhook_host_api), CERTHOOK_ABI_MAJOR, CERTHOOK_ABI_MINOR,
    api_log, api_set_message, api_string, api_int, api_bool,
    api_int,  // durations are delivered as integer milliseconds
    api_list_size, api_list_item, api_table_size, api_table_key, api_table_value,
};

// ---- file checks before dlopen (Boost.DLL alone reports only "Bad file descriptor") ---------
void check_elf_shared_object(const fs::path &file) {
  std::error_code ec;
  auto status = fs::status(file, ec);
  if (ec) throw LoadError(file.string() + ": cannot open: " + ec.message());
  if (!fs::is_regular_file(status))
    throw LoadError(file.string() + ": not a regular file; a plugin is a .so shared library");
  std::ifstream in(file, std::ios::binary);
  Elf64_Ehdr header{};
  in.read(reinterpret_cast<char *>(&header), sizeof header);
  if (!in || std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0)
    throw LoadError(file.string() + ": not a shared library (no ELF header); build plugins with "
                                    "certhook_add_plugin() from the certhook SDK");
  if (header.e_ident[EI_CLASS] != ELFCLASS64 || header.e_type != ET_DYN)
    throw LoadError(file.string() + ": not a 64-bit ELF shared object; build plugins with "
                                    "certhook_add_plugin() from the certhook SDK");
}

std::string abi_text(unsigned major, unsigned minor) {
  return std::to_string(major) + "." + std::to_string(minor);
}

void check_descriptor(const fs::path &file, const certhook_plugin *d) {
  const std::string f = file.string() + ": ";
  if (!d) throw LoadError(f + "certhook_plugin_entry returned no descriptor");
  constexpr std::size_t header = offsetof(certhook_plugin, abi_minor) + sizeof(uint16_t);
  if (d->size < header)
    throw LoadError(f + "descriptor is " + std::to_string(d->size) +
                    " bytes, too small to hold its ABI version; rebuild against the certhook SDK");
  if (d->abi_major != CERTHOOK_ABI_MAJOR)
    throw LoadError(f + "built for plugin ABI " + abi_text(d->abi_major, d->abi_minor) +
                    ", this certhook speaks ABI " + abi_text(CERTHOOK_ABI_MAJOR, CERTHOOK_ABI_MINOR) +
                    "; rebuild the plugin against this certhook's SDK");
  if (d->abi_minor > CERTHOOK_ABI_MINOR)
    throw LoadError(f + "built for plugin ABI " + abi_text(d->abi_major, d->abi_minor) +
                    ", newer than this certhook's ABI " +
                    abi_text(CERTHOOK_ABI_MAJOR, CERTHOOK_ABI_MINOR) +
                    "; upgrade certhook or rebuild the plugin against its SDK");
  // Every field of ABI 1.0 must be present; later minors append fields after `destroy`.
  constexpr std::size_t v1_0 = offsetof(certhook_plugin, destroy) + sizeof(d->destroy);
  if (d->size < v1_0)
    throw LoadError(f + "descriptor is " + std::to_string(d->size) + " bytes, smaller than the " +
                    std::to_string(v1_0) + " bytes of ABI 1.0; rebuild against the certhook SDK");
  if (!d->name || !*d->name) throw LoadError(f + "descriptor has no name");
  if (!d->create || !d->deploy)
    throw LoadError(f + "descriptor lacks a create or deploy function");
  if (d->option_count && !d->options)
    throw LoadError(f + "descriptor declares options but has no option table");
  for (std::size_t i = 0; i < d->option_count; ++i) {
    const auto &o = d->options[i];
    if (!o.key || !*o.key) throw LoadError(f + "option " + std::to_string(i) + " has no key");
    if (o.type < CERTHOOK_OPTION_STRING || o.type > CERTHOOK_OPTION_TABLE)
      throw LoadError(f + "option " + o.key + " has unknown type " + std::to_string(o.type));
  }
}

// Keeps loaded libraries alive: a plugin is never unloaded.
std::deque<boost::dll::shared_library> &loaded_libraries() {
  static auto *libs = new std::deque<boost::dll::shared_library>();
  return *libs;
}

}  // namespace

const char *option_type_name(unsigned type) {
  switch (type) {
    case CERTHOOK_OPTION_STRING: return "string";
    case CERTHOOK_OPTION_INT: return "int";
    case CERTHOOK_OPTION_BOOL: return "bool";
    case CERTHOOK_OPTION_DURATION: return "duration";
    case CERTHOOK_OPTION_PATH: return "path";
    case CERTHOOK_OPTION_URL: return "url";
    case CERTHOOK_OPTION_STRING_LIST: return "string list";
    case CERTHOOK_OPTION_TABLE: return "table";
    default: return "unknown";
  }
}

const certhook_plugin &load_plugin(const fs::path &file) {
  check_elf_shared_object(file);
  boost::dll::shared_library lib;
  boost::dll::fs::error_code ec;
  lib.load(file, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local, ec);
  if (ec || !lib.is_loaded()) {
    const char *why = ::dlerror();
    throw LoadError(file.string() + ": cannot load: " + (why ? why : ec.message()));
  }
  if (!lib.has(CERTHOOK_PLUGIN_ENTRY_SYMBOL))
    throw LoadError(file.string() + ": not a certhook plugin: it exports no " +
                    CERTHOOK_PLUGIN_ENTRY_SYMBOL + " (define it with CERTHOOK_PLUGIN_EXPORT)");
  auto &entry = lib.get<const certhook_plugin *(const certhook_host_api *)>(
      CERTHOOK_PLUGIN_ENTRY_SYMBOL);
  const certhook_plugin *descriptor = entry(&host_api);
  check_descriptor(file, descriptor);
  loaded_libraries().push_back(std::move(lib));
  return *descriptor;
}

nlohmann::json describe(const certhook_plugin &p) {
  auto options = nlohmann::json::array();
  for (std::size_t i = 0; i < p.option_count; ++i) {
    const auto &o = p.options[i];
    options.push_back({{"key", o.key},
                       {"type", option_type_name(o.type)},
                       {"required", (o.flags & CERTHOOK_OPTION_REQUIRED) != 0},
                       {"secret", (o.flags & CERTHOOK_OPTION_SECRET) != 0},
                       {"default", o.default_value ? nlohmann::json(o.default_value) : nlohmann::json()},
                       {"help", o.help ? o.help : ""}});
  }
  return {{"name", p.name},
          {"version", p.version ? p.version : ""},
          {"description", p.description ? p.description : ""},
          {"abi", abi_text(p.abi_major, p.abi_minor)},
          {"batching", (p.flags & CERTHOOK_PLUGIN_BATCHING) != 0},
          {"options", options}};
}

CallOutcome call_plugin(const certhook_plugin &p, const std::string &call,
                        const nlohmann::json &request) {
  using Fn = certhook_status (*)(void *, certhook_context *, const certhook_deploy_event *);
  Fn fn = nullptr;
  if (call == "deploy") fn = p.deploy;
  else if (call == "preflight") fn = p.preflight;
  else if (call == "rollback") fn = p.rollback;
  else return {CERTHOOK_PERMANENT, "unknown call \"" + call + "\""};
  if (!fn) return {CERTHOOK_OK, std::string(p.name) + " has no " + call + "; nothing to do"};

  static const nlohmann::json empty = nlohmann::json::object();
  const nlohmann::json &options = request.contains("options") ? request["options"] : empty;
  certhook_context ctx;
  ctx.options = &options;

  // The event points into `strings`; a deque keeps addresses stable while it grows.
  std::deque<std::string> strings;
  auto keep = [&](const nlohmann::json &j, const char *key) -> const char * {
    auto it = j.find(key);
    strings.push_back(it != j.end() && it->is_string() ? it->get<std::string>() : "");
    return strings.back().c_str();
  };
  const auto &certs = request.value("certificates", nlohmann::json::array());
  std::vector<certhook_certificate> records(certs.size());
  std::vector<std::vector<const char *>> domains(certs.size());
  std::vector<const certhook_certificate *> pointers;
  for (std::size_t i = 0; i < certs.size(); ++i) {
    const auto &c = certs[i];
    for (const auto &d : c.value("domains", nlohmann::json::array())) {
      strings.push_back(d.is_string() ? d.get<std::string>() : "");
      domains[i].push_back(strings.back().c_str());
    }
    records[i] = certhook_certificate{sizeof(certhook_certificate),
                                      keep(c, "name"),
                                      domains[i].data(),
                                      domains[i].size(),
                                      keep(c, "lineage"),
                                      keep(c, "cert_path"),
                                      keep(c, "key_path"),
                                      keep(c, "chain_path"),
                                      keep(c, "fullchain_path"),
                                      keep(c, "fingerprint"),
                                      keep(c, "not_after"),
                                      keep(c, "reason")};
    pointers.push_back(&records[i]);
  }
  certhook_deploy_event event{sizeof(certhook_deploy_event), keep(request, "hook"),
                              pointers.data(), pointers.size(),
                              request.value("attempt", 1u), request.value("dry_run", false) ? 1 : 0};

  void *instance = nullptr;
  certhook_status status = CERTHOOK_FAILED;
  try {
    status = p.create(&ctx, &instance);
    if (status != CERTHOOK_OK) {
      std::string why = ctx.message.empty() ? "create failed" : ctx.message;
      return {status, why};
    }
    ctx.message.clear();
    status = fn(instance, &ctx, &event);
  } catch (const std::exception &e) {
    // The C ABI forbids this; report it rather than terminate.
    status = CERTHOOK_FAILED;
    ctx.message = std::string("exception escaped the plugin: ") + e.what();
  } catch (...) {
    status = CERTHOOK_FAILED;
    ctx.message = "exception escaped the plugin";
  }
  if (p.destroy && instance) p.destroy(instance);
  if (status != CERTHOOK_OK && status != CERTHOOK_FAILED && status != CERTHOOK_PERMANENT) {
    ctx.message = "returned unknown status " + std::to_string(static_cast<int>(status)) +
                  (ctx.message.empty() ? "" : ": " + ctx.message);
    status = CERTHOOK_FAILED;
  }
  if (status != CERTHOOK_OK && ctx.message.empty()) ctx.message = call + " failed (no message)";
  return {status, ctx.message};
}

}  // namespace certhook::plugin
