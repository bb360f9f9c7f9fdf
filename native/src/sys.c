// System-call wrappers for booting (kexec, reboot, mount, modules, memfd, block ioctls, clock).
// Thin and synchronous: argument checking and errno reporting only; policy lives in TS.
#define _GNU_SOURCE
#include "args.h"
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/reboot.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <time.h>
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

// kexecFileLoad(kernelFd, initrdFd | -1, cmdline, flags): cmdline_len counts the NUL.
static napi_value kexec_file_load_fn(napi_env env, napi_callback_info info) {
  tendril_args a;
  int kfd;
  int32_t ifd;
  uint32_t flags;
  char *cmd;
  size_t len;
  if (!tendril_args_init(&a, env, info, "kexecFileLoad") || !tendril_arg_fd(&a, 0, "kernelFd", &kfd) ||
      !tendril_arg_i32(&a, 1, "initrdFd", -1, INT32_MAX, &ifd) || !tendril_arg_u32(&a, 3, "flags", &flags) ||
      !tendril_arg_str(&a, 2, "cmdline", false, &cmd, &len))
    return NULL;
#ifdef SYS_kexec_file_load
  if (ifd < 0) flags |= KEXEC_FILE_NO_INITRAMFS;
  long r = syscall(SYS_kexec_file_load, kfd, ifd, (unsigned long)(len + 1), cmd, (unsigned long)flags);
  int err = errno;
  free(cmd);
  if (r != 0) return tendril_throw_errno(env, "kexec_file_load", err);
  return tendril_undefined(env);
#else
  free(cmd);
  return tendril_throw_errno(env, "kexec_file_load", ENOSYS);
#endif
}

// kexecLoad(entry, [{buf: Uint8Array|null, mem, memsz}], flags).
static napi_value kexec_load_fn(napi_env env, napi_callback_info info) {
  tendril_args a;
  uint64_t entry;
  uint32_t flags;
  bool is_arr = false;
  if (!tendril_args_init(&a, env, info, "kexecLoad") || !tendril_arg_u64(&a, 0, "entry", UINTPTR_MAX, &entry) ||
      !tendril_arg_u32(&a, 2, "flags", &flags))
    return NULL;
  if (a.argc > 1) napi_is_array(env, a.argv[1], &is_arr);
  if (!is_arr) return tendril_throw_type(env, "kexecLoad: segments must be an array");
  uint32_t n;
  napi_get_array_length(env, a.argv[1], &n);
  if (n > KEXEC_SEGMENT_MAX) return tendril_throw_type(env, "kexecLoad: at most 16 segments");
  struct tendril_kexec_segment segs[KEXEC_SEGMENT_MAX];
  memset(segs, 0, sizeof segs);
  for (uint32_t i = 0; i < n; i++) {
    napi_value s, b, m, ms;
    napi_valuetype st;
    napi_get_element(env, a.argv[1], i, &s);
    napi_typeof(env, s, &st);
    if (st != napi_object || napi_get_named_property(env, s, "buf", &b) != napi_ok ||
        napi_get_named_property(env, s, "mem", &m) != napi_ok ||
        napi_get_named_property(env, s, "memsz", &ms) != napi_ok)
      return tendril_throw_type(env, "kexecLoad: each segment needs buf, mem, memsz");
    char name[40];
    uint64_t mem, memsz;
    snprintf(name, sizeof name, "segments[%u].mem", i);
    if (!tendril_value_u64(env, m, "kexecLoad", name, UINTPTR_MAX, &mem)) return NULL;
    snprintf(name, sizeof name, "segments[%u].memsz", i);
    if (!tendril_value_u64(env, ms, "kexecLoad", name, SIZE_MAX, &memsz)) return NULL;
    void *data;
    snprintf(name, sizeof name, "segments[%u].buf", i);
    if (!tendril_value_bytes(env, b, "kexecLoad", name, true, &data, &segs[i].bufsz)) return NULL;
    segs[i].buf = data;
    if (segs[i].bufsz > memsz) return tendril_throw_type(env, "kexecLoad: buf larger than memsz");
    segs[i].mem = (const void *)(uintptr_t)mem;
    segs[i].memsz = (size_t)memsz;
  }
  long r = syscall(SYS_kexec_load, (unsigned long)entry, (unsigned long)n, segs, (unsigned long)flags);
  if (r != 0) return tendril_throw_errno(env, "kexec_load", errno);
  return tendril_undefined(env);
}

// reboot(cmd): cmd is one of the LINUX_REBOOT_CMD_* values (exported as constants).
static napi_value reboot_fn(napi_env env, napi_callback_info info) {
  tendril_args a;
  uint32_t c;
  if (!tendril_args_init(&a, env, info, "reboot") || !tendril_arg_u32(&a, 0, "cmd", &c)) return NULL;
  if (c != LINUX_REBOOT_CMD_KEXEC && c != LINUX_REBOOT_CMD_POWER_OFF && c != LINUX_REBOOT_CMD_RESTART)
    return tendril_throw_type(env, "reboot: cmd must be KEXEC, POWER_OFF or RESTART");
  long r = syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2, c, NULL);
  if (r != 0) return tendril_throw_errno(env, "reboot", errno);
  return tendril_undefined(env);
}

// mount(source|null, target, fstype|null, flags, data|null).
static napi_value mount_fn(napi_env env, napi_callback_info info) {
  tendril_args a;
  uint64_t flags;
  char *src = NULL, *tgt = NULL, *fst = NULL, *data = NULL;
  napi_value ret = NULL;
  if (tendril_args_init(&a, env, info, "mount") && tendril_arg_u64(&a, 3, "flags", ULONG_MAX, &flags) &&
      tendril_arg_str(&a, 0, "source", true, &src, NULL) && tendril_arg_str(&a, 1, "target", false, &tgt, NULL) &&
      tendril_arg_str(&a, 2, "fstype", true, &fst, NULL) && tendril_arg_str(&a, 4, "data", true, &data, NULL)) {
    if (mount(src, tgt, fst, (unsigned long)flags, data) != 0) ret = tendril_throw_errno(env, "mount", errno);
    else ret = tendril_undefined(env);
  }
  free(src);
  free(tgt);
  free(fst);
  free(data);
  return ret;
}

// umount2(target, flags = 0).
static napi_value umount2_fn(napi_env env, napi_callback_info info) {
  tendril_args a;
  int32_t flags = 0;
  char *tgt;
  if (!tendril_args_init(&a, env, info, "umount2") ||
      (tendril_arg_present(&a, 1) && !tendril_arg_i32(&a, 1, "flags", 0, INT32_MAX, &flags)) ||
      !tendril_arg_str(&a, 0, "target", false, &tgt, NULL))
    return NULL;
  int r = umount2(tgt, flags);
  int err = errno;
  free(tgt);
  if (r != 0) return tendril_throw_errno(env, "umount2", err);
  return tendril_undefined(env);
}

// finitModule(fd, params, flags = 0).
static napi_value finit_module_fn(napi_env env, napi_callback_info info) {
  tendril_args a;
  int fd;
  int32_t flags = 0;
  char *params;
  if (!tendril_args_init(&a, env, info, "finitModule") || !tendril_arg_fd(&a, 0, "fd", &fd) ||
      (tendril_arg_present(&a, 2) && !tendril_arg_i32(&a, 2, "flags", 0, INT32_MAX, &flags)) ||
      !tendril_arg_str(&a, 1, "params", false, &params, NULL))
    return NULL;
  long r = syscall(SYS_finit_module, fd, params, flags);
  int err = errno;
  free(params);
  if (r != 0) return tendril_throw_errno(env, "finit_module", err);
  return tendril_undefined(env);
}

// memfdCreate(name, flags = MFD_CLOEXEC) -> fd.
static napi_value memfd_create_fn(napi_env env, napi_callback_info info) {
  tendril_args a;
  uint32_t flags = MFD_CLOEXEC;
  char *name;
  if (!tendril_args_init(&a, env, info, "memfdCreate") ||
      (tendril_arg_present(&a, 1) && !tendril_arg_u32(&a, 1, "flags", &flags)) ||
      !tendril_arg_str(&a, 0, "name", false, &name, NULL))
    return NULL;
  int fd = (int)syscall(SYS_memfd_create, name, flags);
  int err = errno;
  free(name);
  if (fd < 0) return tendril_throw_errno(env, "memfd_create", err);
  return tendril_number(env, fd);
}

// addSeals(fd, seals): fcntl(F_ADD_SEALS) on a memfd created with MFD_ALLOW_SEALING.
static napi_value add_seals_fn(napi_env env, napi_callback_info info) {
  tendril_args a;
  int fd;
  uint32_t seals;
  if (!tendril_args_init(&a, env, info, "addSeals") || !tendril_arg_fd(&a, 0, "fd", &fd) ||
      !tendril_arg_u32(&a, 1, "seals", &seals))
    return NULL;
  if (fcntl(fd, F_ADD_SEALS, (int)seals) != 0) return tendril_throw_errno(env, "fcntl(F_ADD_SEALS)", errno);
  return tendril_undefined(env);
}

// blkRoSet(fd, on).
static napi_value blk_ro_set_fn(napi_env env, napi_callback_info info) {
  tendril_args a;
  int fd;
  bool on;
  if (!tendril_args_init(&a, env, info, "blkRoSet") || !tendril_arg_fd(&a, 0, "fd", &fd) ||
      !tendril_arg_bool(&a, 1, "on", &on))
    return NULL;
  int v = on ? 1 : 0;
  if (ioctl(fd, BLKROSET, &v) != 0) return tendril_throw_errno(env, "ioctl(BLKROSET)", errno);
  return tendril_undefined(env);
}

// blkGetSize64(fd) -> bytes (a RangeError beyond 2^53 - 1 rather than a rounded size).
static napi_value blk_get_size64_fn(napi_env env, napi_callback_info info) {
  tendril_args a;
  int fd;
  if (!tendril_args_init(&a, env, info, "blkGetSize64") || !tendril_arg_fd(&a, 0, "fd", &fd)) return NULL;
  uint64_t size = 0;
  if (ioctl(fd, BLKGETSIZE64, &size) != 0) return tendril_throw_errno(env, "ioctl(BLKGETSIZE64)", errno);
  return tendril_number_u64(env, "blkGetSize64", "size", size);
}

// clockSettime(sec, nsec): clock_settime(CLOCK_REALTIME) (the system clock; the RTC is not
// touched). sec is seconds since 1970 (0..2^53 - 1), nsec 0..999999999.
static napi_value clock_settime_fn(napi_env env, napi_callback_info info) {
  tendril_args a;
  int64_t sec, nsec;
  if (!tendril_args_init(&a, env, info, "clockSettime") ||
      !tendril_arg_int(&a, 0, "sec", 0, TENDRIL_MAX_SAFE_INTEGER, &sec) ||
      !tendril_arg_int(&a, 1, "nsec", 0, 999999999, &nsec))
    return NULL;
  struct timespec ts = {.tv_sec = (time_t)sec, .tv_nsec = (long)nsec};
  if (clock_settime(CLOCK_REALTIME, &ts) != 0) return tendril_throw_errno(env, "clock_settime(CLOCK_REALTIME)", errno);
  return tendril_undefined(env);
}

static napi_value sync_fn(napi_env env, napi_callback_info info) {
  (void)info;
  sync();
  return tendril_undefined(env);
}

static void set_const(napi_env env, napi_value obj, const char *name, double v) {
  napi_set_named_property(env, obj, name, tendril_number(env, v));
}

void tendril_register_sys(napi_env env, napi_value exports) {
  tendril_export(env, exports, "kexecFileLoad", kexec_file_load_fn);
  tendril_export(env, exports, "kexecLoad", kexec_load_fn);
  tendril_export(env, exports, "reboot", reboot_fn);
  tendril_export(env, exports, "mount", mount_fn);
  tendril_export(env, exports, "umount2", umount2_fn);
  tendril_export(env, exports, "finitModule", finit_module_fn);
  tendril_export(env, exports, "memfdCreate", memfd_create_fn);
  tendril_export(env, exports, "addSeals", add_seals_fn);
  tendril_export(env, exports, "blkRoSet", blk_ro_set_fn);
  tendril_export(env, exports, "blkGetSize64", blk_get_size64_fn);
  tendril_export(env, exports, "sync", sync_fn);
  tendril_export(env, exports, "clockSettime", clock_settime_fn);
  napi_value c;
  napi_create_object(env, &c);
  set_const(env, c, "REBOOT_KEXEC", LINUX_REBOOT_CMD_KEXEC);
  set_const(env, c, "REBOOT_POWER_OFF", LINUX_REBOOT_CMD_POWER_OFF);
  set_const(env, c, "REBOOT_RESTART", LINUX_REBOOT_CMD_RESTART);
  set_const(env, c, "KEXEC_FILE_NO_INITRAMFS", KEXEC_FILE_NO_INITRAMFS);
  set_const(env, c, "MFD_CLOEXEC", MFD_CLOEXEC);
  set_const(env, c, "MFD_ALLOW_SEALING", MFD_ALLOW_SEALING);
  set_const(env, c, "F_SEAL_SEAL", F_SEAL_SEAL);
  set_const(env, c, "F_SEAL_SHRINK", F_SEAL_SHRINK);
  set_const(env, c, "F_SEAL_GROW", F_SEAL_GROW);
  set_const(env, c, "F_SEAL_WRITE", F_SEAL_WRITE);
  set_const(env, c, "MNT_DETACH", MNT_DETACH);
  napi_set_named_property(env, exports, "sysConstants", c);
}
