// System-call wrappers for booting (kexec, reboot, mount, modules, memfd, block ioctls).
// Thin and synchronous: argument checking and errno reporting only; policy lives in TS.
#define _GNU_SOURCE
#include "addon.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/reboot.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_kexec_file_load
#if defined(__x86_64__)
#define SYS_kexec_file_load 320
#elif defined(__aarch64__) || defined(__riscv)
#define SYS_kexec_file_load 294
#endif
#endif
#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 1U
#endif
#define KEXEC_FILE_NO_INITRAMFS 0x4
#define KEXEC_SEGMENT_MAX 16

// The kernel's struct kexec_segment (include/uapi/linux/kexec.h).
struct tendril_kexec_segment {
  const void *buf;
  size_t bufsz;
  const void *mem;
  size_t memsz;
};

#define ARGS(n)                                                     \
  size_t argc = n;                                                  \
  napi_value argv[n];                                               \
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) \
    return tendril_throw_type(env, "bad call");

static int get_i32(napi_env env, napi_value v, int32_t *out) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number) return 0;
  return napi_get_value_int32(env, v, out) == napi_ok;
}

// Unsigned 64-bit from a number (exact up to 2^53) or a bigint.
static int get_u64(napi_env env, napi_value v, uint64_t *out) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok) return 0;
  if (t == napi_bigint) {
    bool lossless;
    return napi_get_value_bigint_uint64(env, v, out, &lossless) == napi_ok && lossless;
  }
  if (t != napi_number) return 0;
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok || d < 0 || d > 9007199254740991.0 || d != (double)(uint64_t)d)
    return 0;
  *out = (uint64_t)d;
  return 1;
}

// A UTF-8 string copied into a malloc'd NUL-terminated buffer; *len excludes the NUL.
// NULL/undefined give NULL with ok=1 when allow_null is set.
static char *get_str(napi_env env, napi_value v, int allow_null, size_t *len, int *ok) {
  napi_valuetype t;
  *ok = 0;
  if (napi_typeof(env, v, &t) != napi_ok) return NULL;
  if (allow_null && (t == napi_null || t == napi_undefined)) {
    *ok = 1;
    if (len) *len = 0;
    return NULL;
  }
  if (t != napi_string) return NULL;
  size_t n;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &n) != napi_ok) return NULL;
  char *s = malloc(n + 1);
  if (!s) return NULL;
  napi_get_value_string_utf8(env, v, s, n + 1, &n);
  if (strlen(s) != n) {  // embedded NUL: the kernel would silently truncate
    free(s);
    return NULL;
  }
  if (len) *len = n;
  *ok = 1;
  return s;
}

static napi_value undef(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

static napi_value num(napi_env env, double d) {
  napi_value v;
  napi_create_double(env, d, &v);
  return v;
}

// kexecFileLoad(kernelFd, initrdFd | -1, cmdline, flags): cmdline_len counts the NUL.
static napi_value kexec_file_load_fn(napi_env env, napi_callback_info info) {
  ARGS(4);
  int32_t kfd, ifd, flags;
  if (argc < 4 || !get_i32(env, argv[0], &kfd) || !get_i32(env, argv[1], &ifd) || !get_i32(env, argv[3], &flags))
    return tendril_throw_type(env, "kexecFileLoad(kernelFd, initrdFd|-1, cmdline, flags)");
  size_t len;
  int ok;
  char *cmd = get_str(env, argv[2], 0, &len, &ok);
  if (!ok) return tendril_throw_type(env, "kexecFileLoad: cmdline must be a string without NUL");
#ifdef SYS_kexec_file_load
  if (ifd < 0) flags |= KEXEC_FILE_NO_INITRAMFS;
  long r = syscall(SYS_kexec_file_load, kfd, ifd, (unsigned long)(len + 1), cmd, (unsigned long)(uint32_t)flags);
  int err = errno;
  free(cmd);
  if (r != 0) return tendril_throw_errno(env, "kexec_file_load", err);
  return undef(env);
#else
  free(cmd);
  return tendril_throw_errno(env, "kexec_file_load", ENOSYS);
#endif
}

// kexecLoad(entry, [{buf: Uint8Array|null, mem, memsz}], flags).
static napi_value kexec_load_fn(napi_env env, napi_callback_info info) {
  ARGS(3);
  uint64_t entry;
  int32_t flags;
  bool is_arr;
  if (argc < 3 || !get_u64(env, argv[0], &entry) || napi_is_array(env, argv[1], &is_arr) != napi_ok || !is_arr ||
      !get_i32(env, argv[2], &flags))
    return tendril_throw_type(env, "kexecLoad(entry, segments[], flags)");
  uint32_t n;
  napi_get_array_length(env, argv[1], &n);
  if (n > KEXEC_SEGMENT_MAX) return tendril_throw_type(env, "kexecLoad: at most 16 segments");
  struct tendril_kexec_segment segs[KEXEC_SEGMENT_MAX];
  memset(segs, 0, sizeof segs);
  for (uint32_t i = 0; i < n; i++) {
    napi_value s, b, m, ms;
    napi_get_element(env, argv[1], i, &s);
    if (napi_get_named_property(env, s, "buf", &b) != napi_ok || napi_get_named_property(env, s, "mem", &m) != napi_ok ||
        napi_get_named_property(env, s, "memsz", &ms) != napi_ok)
      return tendril_throw_type(env, "kexecLoad: segment needs buf, mem, memsz");
    uint64_t mem, memsz;
    if (!get_u64(env, m, &mem) || !get_u64(env, ms, &memsz))
      return tendril_throw_type(env, "kexecLoad: segment mem/memsz must be non-negative integers");
    napi_valuetype bt;
    napi_typeof(env, b, &bt);
    bool is_ta = false;
    if (bt != napi_null && bt != napi_undefined) napi_is_typedarray(env, b, &is_ta);
    if (is_ta) {
      napi_typedarray_type tt;
      size_t len;
      void *data;
      napi_get_typedarray_info(env, b, &tt, &len, &data, NULL, NULL);
      if (tt != napi_uint8_array) return tendril_throw_type(env, "kexecLoad: buf must be a Uint8Array");
      segs[i].buf = data;
      segs[i].bufsz = len;
    } else if (bt != napi_null && bt != napi_undefined) {
      return tendril_throw_type(env, "kexecLoad: buf must be a Uint8Array or null");
    }
    if (segs[i].bufsz > memsz) return tendril_throw_type(env, "kexecLoad: buf larger than memsz");
    segs[i].mem = (const void *)(uintptr_t)mem;
    segs[i].memsz = (size_t)memsz;
  }
  long r = syscall(SYS_kexec_load, (unsigned long)entry, (unsigned long)n, segs, (unsigned long)(uint32_t)flags);
  if (r != 0) return tendril_throw_errno(env, "kexec_load", errno);
  return undef(env);
}

// reboot(cmd): cmd is one of the LINUX_REBOOT_CMD_* values (exported as constants).
static napi_value reboot_fn(napi_env env, napi_callback_info info) {
  ARGS(1);
  uint64_t cmd;
  if (argc < 1 || !get_u64(env, argv[0], &cmd) || cmd > 0xffffffffULL) return tendril_throw_type(env, "reboot(cmd)");
  uint32_t c = (uint32_t)cmd;
  if (c != LINUX_REBOOT_CMD_KEXEC && c != LINUX_REBOOT_CMD_POWER_OFF && c != LINUX_REBOOT_CMD_RESTART)
    return tendril_throw_type(env, "reboot: cmd must be KEXEC, POWER_OFF or RESTART");
  long r = syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2, c, NULL);
  if (r != 0) return tendril_throw_errno(env, "reboot", errno);
  return undef(env);
}

// mount(source|null, target, fstype|null, flags, data|null).
static napi_value mount_fn(napi_env env, napi_callback_info info) {
  ARGS(5);
  if (argc < 4) return tendril_throw_type(env, "mount(source, target, fstype, flags, data?)");
  int ok1, ok2, ok3, ok4 = 1;
  uint64_t flags;
  char *src = get_str(env, argv[0], 1, NULL, &ok1);
  char *tgt = get_str(env, argv[1], 0, NULL, &ok2);
  char *fst = get_str(env, argv[2], 1, NULL, &ok3);
  char *data = argc >= 5 ? get_str(env, argv[4], 1, NULL, &ok4) : NULL;
  napi_value ret = NULL;
  if (!ok1 || !ok2 || !ok3 || !ok4 || !get_u64(env, argv[3], &flags)) {
    ret = tendril_throw_type(env, "mount(source, target, fstype, flags, data?): strings without NUL, flags a number");
  } else if (mount(src, tgt, fst, (unsigned long)flags, data) != 0) {
    ret = tendril_throw_errno(env, "mount", errno);
  } else {
    ret = undef(env);
  }
  free(src);
  free(tgt);
  free(fst);
  free(data);
  return ret;
}

static napi_value umount2_fn(napi_env env, napi_callback_info info) {
  ARGS(2);
  int ok;
  int32_t flags = 0;
  if (argc < 1 || (argc >= 2 && !get_i32(env, argv[1], &flags))) return tendril_throw_type(env, "umount2(target, flags)");
  char *tgt = get_str(env, argv[0], 0, NULL, &ok);
  if (!ok) return tendril_throw_type(env, "umount2: target must be a string");
  int r = umount2(tgt, flags);
  int err = errno;
  free(tgt);
  if (r != 0) return tendril_throw_errno(env, "umount2", err);
  return undef(env);
}

// finitModule(fd, params, flags).
static napi_value finit_module_fn(napi_env env, napi_callback_info info) {
  ARGS(3);
  int32_t fd, flags = 0;
  int ok;
  if (argc < 2 || !get_i32(env, argv[0], &fd) || (argc >= 3 && !get_i32(env, argv[2], &flags)))
    return tendril_throw_type(env, "finitModule(fd, params, flags)");
  char *params = get_str(env, argv[1], 0, NULL, &ok);
  if (!ok) return tendril_throw_type(env, "finitModule: params must be a string");
  long r = syscall(SYS_finit_module, fd, params, flags);
  int err = errno;
  free(params);
  if (r != 0) return tendril_throw_errno(env, "finit_module", err);
  return undef(env);
}

// memfdCreate(name, flags) -> fd.
static napi_value memfd_create_fn(napi_env env, napi_callback_info info) {
  ARGS(2);
  int ok;
  int32_t flags = MFD_CLOEXEC;
  if (argc < 1 || (argc >= 2 && !get_i32(env, argv[1], &flags))) return tendril_throw_type(env, "memfdCreate(name, flags)");
  char *name = get_str(env, argv[0], 0, NULL, &ok);
  if (!ok) return tendril_throw_type(env, "memfdCreate: name must be a string");
  int fd = (int)syscall(SYS_memfd_create, name, (unsigned int)flags);
  int err = errno;
  free(name);
  if (fd < 0) return tendril_throw_errno(env, "memfd_create", err);
  return num(env, fd);
}

static napi_value blk_ro_set_fn(napi_env env, napi_callback_info info) {
  ARGS(2);
  int32_t fd;
  bool on;
  if (argc < 2 || !get_i32(env, argv[0], &fd) || napi_get_value_bool(env, argv[1], &on) != napi_ok)
    return tendril_throw_type(env, "blkRoSet(fd, on: boolean)");
  int v = on ? 1 : 0;
  if (ioctl(fd, BLKROSET, &v) != 0) return tendril_throw_errno(env, "ioctl(BLKROSET)", errno);
  return undef(env);
}

static napi_value blk_get_size64_fn(napi_env env, napi_callback_info info) {
  ARGS(1);
  int32_t fd;
  if (argc < 1 || !get_i32(env, argv[0], &fd)) return tendril_throw_type(env, "blkGetSize64(fd)");
  uint64_t size = 0;
  if (ioctl(fd, BLKGETSIZE64, &size) != 0) return tendril_throw_errno(env, "ioctl(BLKGETSIZE64)", errno);
  return num(env, (double)size);
}

static napi_value sync_fn(napi_env env, napi_callback_info info) {
  (void)info;
  sync();
  return undef(env);
}

static void set_const(napi_env env, napi_value obj, const char *name, double v) {
  napi_set_named_property(env, obj, name, num(env, v));
}

void tendril_register_sys(napi_env env, napi_value exports) {
  tendril_export(env, exports, "kexecFileLoad", kexec_file_load_fn);
  tendril_export(env, exports, "kexecLoad", kexec_load_fn);
  tendril_export(env, exports, "reboot", reboot_fn);
  tendril_export(env, exports, "mount", mount_fn);
  tendril_export(env, exports, "umount2", umount2_fn);
  tendril_export(env, exports, "finitModule", finit_module_fn);
  tendril_export(env, exports, "memfdCreate", memfd_create_fn);
  tendril_export(env, exports, "blkRoSet", blk_ro_set_fn);
  tendril_export(env, exports, "blkGetSize64", blk_get_size64_fn);
  tendril_export(env, exports, "sync", sync_fn);
  napi_value c;
  napi_create_object(env, &c);
  set_const(env, c, "REBOOT_KEXEC", LINUX_REBOOT_CMD_KEXEC);
  set_const(env, c, "REBOOT_POWER_OFF", LINUX_REBOOT_CMD_POWER_OFF);
  set_const(env, c, "REBOOT_RESTART", LINUX_REBOOT_CMD_RESTART);
  set_const(env, c, "KEXEC_FILE_NO_INITRAMFS", KEXEC_FILE_NO_INITRAMFS);
  set_const(env, c, "MFD_CLOEXEC", MFD_CLOEXEC);
  set_const(env, c, "MNT_DETACH", MNT_DETACH);
  napi_set_named_property(env, exports, "sysConstants", c);
}
