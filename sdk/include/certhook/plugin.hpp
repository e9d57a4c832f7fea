// certhook plugin SDK: an optional header-only C++17 wrapper over the C ABI in plugin.h.
//
//   class Hello : public certhook::Plugin {
//    public:
//     explicit Hello(certhook::Context &ctx) : dir_(ctx.require<std::filesystem::path>("dir")) {}
//     void deploy(certhook::Context &ctx, const certhook::Event &event) override { ... }
//    private:
//     std::filesystem::path dir_;
//   };
//   static const certhook_option_spec hello_options[] = {
//     certhook::option("dir", CERTHOOK_OPTION_PATH, "where marker files go", CERTHOOK_OPTION_REQUIRED),
//   };
//   CERTHOOK_PLUGIN(Hello, "hello", "1.0.0", "writes a marker file per certificate", hello_options)
//
// The class is constructed once per hook call (the C `create`), so read options in the
// constructor. Any exception from the constructor or a call becomes CERTHOOK_FAILED with its
// what() as the message; certhook::PermanentError becomes CERTHOOK_PERMANENT (not retried).
// preflight and rollback are optional: the descriptor declares them only when the class
// overrides them. CERTHOOK_BATCHING_PLUGIN(...) declares a batching plugin (one call per run
// with every certificate: event.certificates holds them all). A call may report an outcome on
// success too with ctx.set_message; throw_if_failed() turns a computed status into the exception.
#ifndef CERTHOOK_PLUGIN_HPP
#define CERTHOOK_PLUGIN_HPP

#include <certhook/plugin.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace certhook {

// Thrown for a failure that retrying cannot fix (bad credentials, HTTP 4xx, bad input).
struct PermanentError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Throws what the wrapper reports as `status` with `message`: PermanentError for
// CERTHOOK_PERMANENT, std::runtime_error (FAILED) for any other failure; nothing for CERTHOOK_OK.
// For code that already computes a status, e.g. the worst of several certificates' outcomes.
inline void throw_if_failed(certhook_status status, const std::string &message) {
  if (status == CERTHOOK_OK) return;
  if (status == CERTHOOK_PERMANENT) throw PermanentError(message);
  throw std::runtime_error(message);
}

// One option of the schema; `default_value` is a TOML value literal ("true", "\"nginx\"", "[]").
constexpr certhook_option_spec option(const char *key, certhook_option_type type, const char *help,
                                      uint32_t flags = 0, const char *default_value = nullptr) {
  return certhook_option_spec{key, static_cast<uint32_t>(type), flags, default_value, help};
}

namespace detail {
inline const certhook_host_api *&host() {
  static const certhook_host_api *api = nullptr;
  return api;
}
// True when the host's table is large enough to hold `member` (older hosts have shorter tables).
#define CERTHOOK_DETAIL_HAS(ptr, type, member) \
  ((ptr) && (ptr)->size >= offsetof(type, member) + sizeof((ptr)->member) && (ptr)->member)
}  // namespace detail

// A certificate of a deploy event, copied out of the C structs.
struct Certificate {
  std::string name;
  std::vector<std::string> domains;
  std::filesystem::path lineage, cert_path, key_path, chain_path, fullchain_path;
  std::string fingerprint;   // SHA-256 of the leaf DER, lowercase hex
  std::string not_after;     // UTC, YYYY-MM-DDTHH:MM:SSZ
  std::string reason;        // issued | renewed | redeploy | manual
};

struct Event {
  std::string hook;                        // the hook's configured name
  std::vector<Certificate> certificates;   // one, or several for a batching plugin
  unsigned attempt = 1;                    // 1-based within this run
  bool dry_run = false;

  static Event from(const certhook_deploy_event *e) {
    Event out;
    if (!e) return out;
    auto text = [](const char *s) { return std::string(s ? s : ""); };
    if (e->size >= offsetof(certhook_deploy_event, hook) + sizeof e->hook) out.hook = text(e->hook);
    if (e->size >= offsetof(certhook_deploy_event, dry_run) + sizeof e->dry_run) {
      out.attempt = e->attempt;
      out.dry_run = e->dry_run != 0;
    }
    for (std::size_t i = 0; e->certificates && i < e->certificate_count; ++i) {
      const certhook_certificate *c = e->certificates[i];
      if (!c) continue;
      Certificate cert;
      cert.name = text(c->name);
      for (std::size_t d = 0; c->domains && d < c->domain_count; ++d)
        cert.domains.push_back(text(c->domains[d]));
      if (c->size >= offsetof(certhook_certificate, reason) + sizeof c->reason) {
        cert.lineage = text(c->lineage);
        cert.cert_path = text(c->cert_path);
        cert.key_path = text(c->key_path);
        cert.chain_path = text(c->chain_path);
        cert.fullchain_path = text(c->fullchain_path);
        cert.fingerprint = text(c->fingerprint);
        cert.not_after = text(c->not_after);
        cert.reason = text(c->reason);
      }
      out.certificates.push_back(std::move(cert));
    }
    return out;
  }
};

// Per-call access to the host: typed options and logging. Valid only during the call.
class Context {
 public:
  explicit Context(certhook_context *ctx) : ctx_(ctx) {}

  // The option's value, or nullopt when it is unset (no value and no default).
  // T: std::string, std::filesystem::path, int64_t, bool, std::chrono::milliseconds,
  //    std::vector<std::string>, std::map<std::string, std::string>.
  template <class T>
  std::optional<T> get(const char *key) const {
    const certhook_host_api *h = detail::host();
    if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, std::filesystem::path>) {
      const char *s = nullptr;
      if (CERTHOOK_DETAIL_HAS(h, certhook_host_api, option_string) && h->option_string(ctx_, key, &s) && s)
        return T(s);
    } else if constexpr (std::is_same_v<T, bool>) {
      int b = 0;
      if (CERTHOOK_DETAIL_HAS(h, certhook_host_api, option_bool) && h->option_bool(ctx_, key, &b))
        return b != 0;
    } else if constexpr (std::is_same_v<T, std::chrono::milliseconds>) {
      int64_t ms = 0;
      if (CERTHOOK_DETAIL_HAS(h, certhook_host_api, option_duration_ms) &&
          h->option_duration_ms(ctx_, key, &ms))
        return std::chrono::milliseconds(ms);
    } else if constexpr (std::is_integral_v<T>) {
      int64_t v = 0;
      if (CERTHOOK_DETAIL_HAS(h, certhook_host_api, option_int) && h->option_int(ctx_, key, &v))
        return static_cast<T>(v);
    } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
      std::size_t n = 0;
      if (CERTHOOK_DETAIL_HAS(h, certhook_host_api, option_list_item) &&
          h->option_list_size(ctx_, key, &n)) {
        T out;
        for (std::size_t i = 0; i < n; ++i) {
          const char *s = h->option_list_item(ctx_, key, i);
          out.emplace_back(s ? s : "");
        }
        return out;
      }
    } else if constexpr (std::is_same_v<T, std::map<std::string, std::string>>) {
      std::size_t n = 0;
      if (CERTHOOK_DETAIL_HAS(h, certhook_host_api, option_table_value) &&
          h->option_table_size(ctx_, key, &n)) {
        T out;
        for (std::size_t i = 0; i < n; ++i) {
          const char *k = h->option_table_key(ctx_, key, i);
          const char *v = h->option_table_value(ctx_, key, i);
          if (k) out[k] = v ? v : "";
        }
        return out;
      }
    } else {
      static_assert(sizeof(T) == 0, "certhook::Context::get: unsupported option type");
    }
    return std::nullopt;
  }

  // The option's value, or `fallback` when unset.
  template <class T>
  T get_or(const char *key, T fallback) const {
    auto v = get<T>(key);
    return v ? std::move(*v) : std::move(fallback);
  }

  // The option's value; throws PermanentError naming the key when it is unset (a schema bug:
  // certhook checks required options before calling the plugin).
  template <class T>
  T require(const char *key) const {
    auto v = get<T>(key);
    if (!v) throw PermanentError(std::string("option ") + key + " is not set");
    return std::move(*v);
  }

  void log(certhook_log_level level, const std::string &message) const {
    const certhook_host_api *h = detail::host();
    if (CERTHOOK_DETAIL_HAS(h, certhook_host_api, log)) h->log(ctx_, level, message.c_str());
  }
  void debug(const std::string &m) const { log(CERTHOOK_LOG_DEBUG, m); }
  void info(const std::string &m) const { log(CERTHOOK_LOG_INFO, m); }
  void warn(const std::string &m) const { log(CERTHOOK_LOG_WARN, m); }
  void error(const std::string &m) const { log(CERTHOOK_LOG_ERROR, m); }

  // Sets the message reported with the call's result (last one wins).
  void set_message(const std::string &message) const {
    const certhook_host_api *h = detail::host();
    if (CERTHOOK_DETAIL_HAS(h, certhook_host_api, set_message)) h->set_message(ctx_, message.c_str());
  }

  certhook_context *raw() const { return ctx_; }

 private:
  certhook_context *ctx_;
};

// Base class of a plugin. The derived class needs a constructor taking Context&.
class Plugin {
 public:
  virtual ~Plugin() = default;
  virtual void deploy(Context &ctx, const Event &event) = 0;
  // Declared in the descriptor only when overridden.
  virtual void preflight(Context &, const Event &) {}
  virtual void rollback(Context &, const Event &) {}
};

namespace detail {

// Runs f, turning exceptions into a status and a message; nothing crosses the C boundary.
template <class F>
certhook_status guarded(certhook_context *ctx, F &&f) noexcept {
  try {
    f();
    return CERTHOOK_OK;
  } catch (const PermanentError &e) {
    Context(ctx).set_message(e.what());
    return CERTHOOK_PERMANENT;
  } catch (const std::exception &e) {
    Context(ctx).set_message(e.what());
    return CERTHOOK_FAILED;
  } catch (...) {
    Context(ctx).set_message("unknown exception");
    return CERTHOOK_FAILED;
  }
}

template <class T>
struct Adapter {
  static_assert(std::is_base_of_v<Plugin, T>, "CERTHOOK_PLUGIN: the class must derive from certhook::Plugin");
  static_assert(std::is_constructible_v<T, Context &>,
                "CERTHOOK_PLUGIN: the class needs a constructor taking certhook::Context&");

  static certhook_status create(certhook_context *ctx, void **instance) noexcept {
    if (!instance) return CERTHOOK_PERMANENT;
    *instance = nullptr;
    return guarded(ctx, [&] {
      Context c(ctx);
      *instance = static_cast<Plugin *>(new T(c));
    });
  }
  static certhook_status deploy(void *instance, certhook_context *ctx, const certhook_deploy_event *e) noexcept {
    return guarded(ctx, [&] { Context c(ctx); static_cast<Plugin *>(instance)->deploy(c, Event::from(e)); });
  }
  static certhook_status preflight(void *instance, certhook_context *ctx, const certhook_deploy_event *e) noexcept {
    return guarded(ctx, [&] { Context c(ctx); static_cast<Plugin *>(instance)->preflight(c, Event::from(e)); });
  }
  static certhook_status rollback(void *instance, certhook_context *ctx, const certhook_deploy_event *e) noexcept {
    return guarded(ctx, [&] { Context c(ctx); static_cast<Plugin *>(instance)->rollback(c, Event::from(e)); });
  }
  static void destroy(void *instance) noexcept {
    try {
      delete static_cast<Plugin *>(instance);
    } catch (...) {
    }
  }

  // Overridden in T (or a base between T and Plugin) when &T::f is not Plugin's own.
  static constexpr bool has_preflight =
      !std::is_same_v<decltype(&T::preflight), decltype(&Plugin::preflight)>;
  static constexpr bool has_rollback =
      !std::is_same_v<decltype(&T::rollback), decltype(&Plugin::rollback)>;

  static const certhook_plugin *descriptor(const certhook_host_api *api, const char *name,
                                           const char *version, const char *description,
                                           uint32_t flags, const certhook_option_spec *options,
                                           std::size_t option_count) noexcept {
    // A host of another ABI major lays out its table differently: decline to load.
    if (api && api->abi_major != CERTHOOK_ABI_MAJOR) return nullptr;
    host() = api;
    static const certhook_plugin d = {
        sizeof(certhook_plugin), CERTHOOK_ABI_MAJOR, CERTHOOK_ABI_MINOR,
        name, version, description, flags, options, option_count,
        &Adapter::create, &Adapter::deploy,
        has_preflight ? &Adapter::preflight : nullptr,
        has_rollback ? &Adapter::rollback : nullptr,
        &Adapter::destroy};
    return &d;
  }
};

template <std::size_t N>
constexpr std::size_t option_count(const certhook_option_spec (&)[N]) { return N; }
constexpr std::size_t option_count(std::nullptr_t) { return 0; }

}  // namespace detail
}  // namespace certhook

// Defines certhook_plugin_entry and the descriptor for Class. Options: a certhook_option_spec
// array, or nullptr for none. Use exactly once per plugin.
#define CERTHOOK_DETAIL_PLUGIN(Class, Name, Version, Description, Options, Flags)                  \
  extern "C" CERTHOOK_PLUGIN_EXPORT const certhook_plugin *certhook_plugin_entry(                  \
      const certhook_host_api *host) {                                                             \
    return ::certhook::detail::Adapter<Class>::descriptor(                                         \
        host, Name, Version, Description, Flags, Options, ::certhook::detail::option_count(Options)); \
  }
#define CERTHOOK_PLUGIN(Class, Name, Version, Description, Options) \
  CERTHOOK_DETAIL_PLUGIN(Class, Name, Version, Description, Options, 0u)
#define CERTHOOK_BATCHING_PLUGIN(Class, Name, Version, Description, Options) \
  CERTHOOK_DETAIL_PLUGIN(Class, Name, Version, Description, Options, CERTHOOK_PLUGIN_BATCHING)

#endif  // CERTHOOK_PLUGIN_HPP
