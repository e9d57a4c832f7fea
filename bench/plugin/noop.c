/* A plugin whose deploy does nothing: measures the plugin host's own per-call cost. */
#include <certhook/plugin.h>

static certhook_status noop_create(certhook_context *ctx, void **instance) {
  (void)ctx;
  *instance = 0;
  return CERTHOOK_OK;
}
static certhook_status noop_deploy(void *i, certhook_context *c, const certhook_deploy_event *e) {
  (void)i; (void)c; (void)e;
  return CERTHOOK_OK;
}
static const certhook_plugin descriptor = {sizeof(certhook_plugin), CERTHOOK_ABI_MAJOR, CERTHOOK_ABI_MINOR,
                                           "noop", "1.0", "does nothing", 0, 0, 0,
                                           noop_create, noop_deploy, 0, 0, 0};
CERTHOOK_PLUGIN_EXPORT const certhook_plugin *certhook_plugin_entry(const certhook_host_api *host) {
  (void)host;
  return &descriptor;
}
