// Module entry and shared error helpers.
#define _GNU_SOURCE
#include "args.h"
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *errno_name(int err) {
  switch (err) {
#define E(x) case x: return #x;
    E(EPERM) E(ENOENT) E(ESRCH) E(EINTR) E(EIO) E(ENXIO) E(E2BIG) E(ENOEXEC) E(EBADF) E(ECHILD)
    E(EAGAIN) E(ENOMEM) E(EACCES) E(EFAULT) E(EBUSY) E(EEXIST) E(EXDEV) E(ENODEV) E(ENOTDIR)
    E(EISDIR) E(EINVAL) E(ENFILE) E(EMFILE) E(ENOTTY) E(ETXTBSY) E(EFBIG) E(ENOSPC) E(ESPIPE)
    E(EROFS) E(EMLINK) E(EPIPE) E(ERANGE) E(ENOSYS) E(ELOOP) E(ENAMETOOLONG) E(EOPNOTSUPP)
    E(EADDRNOTAVAIL) E(EKEYREJECTED) E(EKEYEXPIRED) E(EKEYREVOKED) E(ENOKEY) E(EBADMSG)
    E(ETIMEDOUT) E(ENOTBLK) E(EOVERFLOW) E(ENOPKG) E(EAFNOSUPPORT) E(ENETDOWN) E(ENETUNREACH)
    E(EMSGSIZE) E(ENOBUFS) E(EPROTONOSUPPORT)
#undef E
    default: return "EUNKNOWN";
  }
}

napi_value tendril_throw_errno(napi_env env, const char *syscall, int err) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s (%s)", syscall, errno_name(err), strerror(err));
  napi_value m, e, v;
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m);
  napi_create_error(env, NULL, m, &e);
  napi_create_string_utf8(env, errno_name(err), NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, e, "code", v);
  napi_create_int32(env, err, &v);
  napi_set_named_property(env, e, "errno", v);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, e, "syscall", v);
  napi_throw(env, e);
  return NULL;
}

napi_value tendril_throw_type(napi_env env, const char *msg) {
  napi_throw_type_error(env, NULL, msg);
  return NULL;
}

void tendril_export(napi_env env, napi_value exports, const char *name, napi_callback cb) {
  napi_value fn;
  napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, NULL, &fn);
  napi_set_named_property(env, exports, name, fn);
}

// exitNow(code): _exit(2) without joining threads. Node joins worker threads at exit, and a
// worker blocked in a read from a hung disk would hold the process forever.
static napi_value exit_now(napi_env env, napi_callback_info info) {
  tendril_args a;
  int32_t code = 0;
  if (!tendril_args_init(&a, env, info, "exitNow") ||
      (tendril_arg_present(&a, 0) && !tendril_arg_i32(&a, 0, "code", 0, 255, &code)))
    return NULL;
  _exit(code);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  tendril_export(env, exports, "exitNow", exit_now);
  tendril_register_sys(env, exports);
  tendril_register_kvm(env, exports);
  tendril_register_net(env, exports);
  tendril_register_display(env, exports);
  tendril_register_input(env, exports);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
