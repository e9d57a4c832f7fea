/*
 * certhook plugin ABI (C99). The only header a plugin needs.
 *
 * Rules that keep the ABI stable:
 *  - A plugin exports exactly one symbol, certhook_plugin_entry, returning its descriptor.
 *  - Every struct that may grow starts with its own size in bytes; readers never look past it.
 *  - certhook_host_api is append-only: new functions go at the end, nothing is removed or reordered.
 *  - A change that breaks either rule bumps CERTHOOK_ABI_MAJOR; appending bumps CERTHOOK_ABI_MINOR.
 *    The host refuses a plugin built for another major, or for a newer minor than it knows.
 *  - No C++ exception may cross this boundary; all strings are NUL-terminated UTF-8.
 *  - A loaded plugin is never unloaded.
 */
#ifndef CERTHOOK_PLUGIN_H
#define CERTHOOK_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#define CERTHOOK_ABI_MAJOR 1
#define CERTHOOK_ABI_MINOR 0

#if defined(__GNUC__) || defined(__clang__)
#define CERTHOOK_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define CERTHOOK_PLUGIN_EXPORT
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Results ---------------------------------------------------------------------------- */
typedef enum certhook_status {
  CERTHOOK_OK = 0,             /* done */
  CERTHOOK_FAILED = 1,         /* failed; certhook retries per the hook's retry policy */
  CERTHOOK_PERMANENT = 2       /* failed and retrying cannot help (e.g. HTTP 4xx): not retried */
} certhook_status;

/* ---- Typed option schema -------------------------------------------------------------- */
typedef enum certhook_option_type {
  CERTHOOK_OPTION_STRING = 1,
  CERTHOOK_OPTION_INT = 2,
  CERTHOOK_OPTION_BOOL = 3,
  CERTHOOK_OPTION_DURATION = 4,    /* "5m", "1h30m"; delivered in milliseconds */
  CERTHOOK_OPTION_PATH = 5,        /* delivered absolute (relative to the config file) */
  CERTHOOK_OPTION_URL = 6,         /* http:// or https:// with a host */
  CERTHOOK_OPTION_STRING_LIST = 7,
  CERTHOOK_OPTION_TABLE = 8        /* table of string values */
} certhook_option_type;

#define CERTHOOK_OPTION_REQUIRED (1u << 0)
#define CERTHOOK_OPTION_SECRET (1u << 1)   /* value never appears in logs or output */

typedef struct certhook_option_spec {
  const char *key;
  uint32_t type;                 /* certhook_option_type */
  uint32_t flags;                /* CERTHOOK_OPTION_* bits */
  const char *default_value;     /* a TOML value literal ("true", "\"nginx\"", "[\"-t\"]") or NULL */
  const char *help;              /* one line */
} certhook_option_spec;

/* ---- What a deploy call receives ------------------------------------------------------- */
typedef struct certhook_certificate {
  uint32_t size;                 /* sizeof(certhook_certificate) as the host built it */
  const char *name;
  const char *const *domains;
  size_t domain_count;
  const char *lineage;           /* the live directory */
  const char *cert_path;
  const char *key_path;
  const char *chain_path;
  const char *fullchain_path;
  const char *fingerprint;       /* SHA-256 of the leaf DER, lowercase hex, no colons */
  const char *not_after;         /* UTC, YYYY-MM-DDTHH:MM:SSZ */
  const char *reason;            /* issued | renewed | redeploy | manual */
} certhook_certificate;

typedef struct certhook_deploy_event {
  uint32_t size;                 /* sizeof(certhook_deploy_event) as the host built it */
  const char *hook;              /* the hook's configured name */
  const certhook_certificate *const *certificates;  /* one, or several for a batching plugin */
  size_t certificate_count;
  uint32_t attempt;              /* 1-based within this run */
  int dry_run;                   /* nonzero under --dry-run (only preflight is called then) */
} certhook_deploy_event;

/* ---- Host services (append-only) -------------------------------------------------------- */
typedef struct certhook_context certhook_context;   /* opaque, owned by the host, valid per call */

typedef enum certhook_log_level {
  CERTHOOK_LOG_DEBUG = 0, CERTHOOK_LOG_INFO = 1, CERTHOOK_LOG_WARN = 2, CERTHOOK_LOG_ERROR = 3
} certhook_log_level;

typedef struct certhook_host_api {
  uint32_t size;                 /* sizeof(certhook_host_api) as the host built it */
  uint16_t abi_major, abi_minor;
  void (*log)(certhook_context *ctx, int level, const char *message);
  /* The failure message for the current call (last one wins). */
  void (*set_message)(certhook_context *ctx, const char *message);
  /* Options, already validated against the schema with defaults applied.
   * Getters return 1 when the option has a value, 0 when it is unset (or of another type). */
  int (*option_string)(certhook_context *ctx, const char *key, const char **out); /* string, path, url */
  int (*option_int)(certhook_context *ctx, const char *key, int64_t *out);
  int (*option_bool)(certhook_context *ctx, const char *key, int *out);
  int (*option_duration_ms)(certhook_context *ctx, const char *key, int64_t *out);
  /* string list: count, then items 0..count-1 */
  int (*option_list_size)(certhook_context *ctx, const char *key, size_t *count);
  const char *(*option_list_item)(certhook_context *ctx, const char *key, size_t index);
  /* table of strings: count, then key/value pairs 0..count-1 in key order */
  int (*option_table_size)(certhook_context *ctx, const char *key, size_t *count);
  const char *(*option_table_key)(certhook_context *ctx, const char *key, size_t index);
  const char *(*option_table_value)(certhook_context *ctx, const char *key, size_t index);
} certhook_host_api;

/* ---- The plugin's descriptor ------------------------------------------------------------ */
#define CERTHOOK_PLUGIN_BATCHING (1u << 0)   /* one call per run with every certificate */

typedef struct certhook_plugin {
  uint32_t size;                 /* sizeof(certhook_plugin) as the plugin was built */
  uint16_t abi_major;            /* CERTHOOK_ABI_MAJOR */
  uint16_t abi_minor;            /* CERTHOOK_ABI_MINOR */
  const char *name;              /* [a-z0-9][a-z0-9._-]*; the hook `type` that selects it */
  const char *version;
  const char *description;
  uint32_t flags;                /* CERTHOOK_PLUGIN_* bits */
  const certhook_option_spec *options;
  size_t option_count;
  /* Create an instance for one hook; options are readable through ctx. Required. */
  certhook_status (*create)(certhook_context *ctx, void **instance);
  /* Deploy the event's certificates. Required. */
  certhook_status (*deploy)(void *instance, certhook_context *ctx, const certhook_deploy_event *event);
  /* Check that a deploy could work (config test, reachability); changes nothing. Optional. */
  certhook_status (*preflight)(void *instance, certhook_context *ctx, const certhook_deploy_event *event);
  /* Undo a deploy that later verification refused. Optional. */
  certhook_status (*rollback)(void *instance, certhook_context *ctx, const certhook_deploy_event *event);
  /* Release the instance. Optional. */
  void (*destroy)(void *instance);
} certhook_plugin;

/* The one entry point. `host` stays valid for the life of the process. */
typedef const certhook_plugin *(*certhook_plugin_entry_fn)(const certhook_host_api *host);
#define CERTHOOK_PLUGIN_ENTRY_SYMBOL "certhook_plugin_entry"

#ifdef __cplusplus
}
#endif
#endif /* CERTHOOK_PLUGIN_H */
