// Shared helpers for the tendril N-API addon: thin syscall wrappers, no policy.
#ifndef TENDRIL_ADDON_H
#define TENDRIL_ADDON_H
#define NAPI_VERSION 8
#include <node_api.h>

// Throw an Error whose message is "<syscall>: <ERRNO NAME> (<strerror>)" with fields
// code (errno name, e.g. "EPERM"), errno (number) and syscall. Returns NULL for convenience.
napi_value tendril_throw_errno(napi_env env, const char *syscall, int err);
// Throw a TypeError for a bad argument.
napi_value tendril_throw_type(napi_env env, const char *msg);
// Define a function property on exports.
void tendril_export(napi_env env, napi_value exports, const char *name, napi_callback cb);

// Each part registers its functions.
void tendril_register_sys(napi_env env, napi_value exports);
void tendril_register_kvm(napi_env env, napi_value exports);
void tendril_register_net(napi_env env, napi_value exports);
void tendril_register_display(napi_env env, napi_value exports);
void tendril_register_input(napi_env env, napi_value exports);
#endif
