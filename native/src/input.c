// evdev ioctls for feeding the VM's PS/2 devices from the host's input devices (src/vm/host-input.ts;
// docs/vmm-platform.md §9.1.1): take or give back a device exclusively (EVIOCGRAB), read its name
// (EVIOCGNAME) and its capability bitmaps (EVIOCGBIT). Thin: argument checks and errno only; which
// devices to grab and how their events map onto the guest's keyboard lives in TypeScript.
#define _GNU_SOURCE
#include "args.h"
#include <errno.h>
#include <linux/input.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>

#define NAME_MAX_BYTES 256
#define BITS_MAX_BYTES 128  // KEY_MAX (0x2ff) bits, rounded up

// evdevGrab(fd, on): EVIOCGRAB 1 (only this fd receives the device's events; the console and
// every other reader see nothing) or 0 (give it back).
static napi_value evdev_grab_fn(napi_env env, napi_callback_info info) {
  tendril_args a;
  int fd;
  bool on;
  if (!tendril_args_init(&a, env, info, "evdevGrab") || !tendril_arg_fd(&a, 0, "fd", &fd) ||
      !tendril_arg_bool(&a, 1, "on", &on))
    return NULL;
  if (ioctl(fd, EVIOCGRAB, on ? 1 : 0) != 0) return tendril_throw_errno(env, "ioctl(EVIOCGRAB)", errno);
  return tendril_undefined(env);
}

// evdevName(fd) -> string: the device's name as the driver reports it.
static napi_value evdev_name_fn(napi_env env, napi_callback_info info) {
  tendril_args a;
  int fd;
  if (!tendril_args_init(&a, env, info, "evdevName") || !tendril_arg_fd(&a, 0, "fd", &fd)) return NULL;
  char name[NAME_MAX_BYTES];
  memset(name, 0, sizeof name);
  int n = ioctl(fd, EVIOCGNAME(sizeof name - 1), name);
  if (n < 0) return tendril_throw_errno(env, "ioctl(EVIOCGNAME)", errno);
  napi_value s;
  napi_create_string_utf8(env, name, strnlen(name, sizeof name), &s);
  return s;
}

// evdevBits(fd, type) -> Uint8Array: the device's capability bitmap for event type `type`
// (0: the event types themselves), bit n in byte n/8, as the kernel lays it out on little-endian.
static napi_value evdev_bits_fn(napi_env env, napi_callback_info info) {
  tendril_args a;
  int fd;
  uint32_t type;
  if (!tendril_args_init(&a, env, info, "evdevBits") || !tendril_arg_fd(&a, 0, "fd", &fd) ||
      !tendril_arg_u32(&a, 1, "type", &type))
    return NULL;
  if (type > EV_MAX) return tendril_throw_type(env, "evdevBits: type must be in 0..31");
  uint8_t bits[BITS_MAX_BYTES];
  memset(bits, 0, sizeof bits);
  int n = ioctl(fd, EVIOCGBIT(type, sizeof bits), bits);
  if (n < 0) return tendril_throw_errno(env, "ioctl(EVIOCGBIT)", errno);
  void *data;
  napi_value ab, out;
  napi_create_arraybuffer(env, (size_t)n, &data, &ab);
  memcpy(data, bits, (size_t)n);
  napi_create_typedarray(env, napi_uint8_array, (size_t)n, ab, 0, &out);
  return out;
}

// evdevAbsInfo(fd, axis) -> [value, minimum, maximum, fuzz, flat, resolution] (EVIOCGABS).
static napi_value evdev_abs_info_fn(napi_env env, napi_callback_info info) {
  tendril_args a;
  int fd;
  uint32_t axis;
  if (!tendril_args_init(&a, env, info, "evdevAbsInfo") || !tendril_arg_fd(&a, 0, "fd", &fd) ||
      !tendril_arg_u32(&a, 1, "axis", &axis))
    return NULL;
  if (axis > ABS_MAX) return tendril_throw_type(env, "evdevAbsInfo: axis must be in 0..ABS_MAX");
  struct input_absinfo ai;
  memset(&ai, 0, sizeof ai);
  if (ioctl(fd, EVIOCGABS(axis), &ai) != 0) return tendril_throw_errno(env, "ioctl(EVIOCGABS)", errno);
  int32_t v[6] = {ai.value, ai.minimum, ai.maximum, ai.fuzz, ai.flat, ai.resolution};
  napi_value out;
  napi_create_array_with_length(env, 6, &out);
  for (uint32_t i = 0; i < 6; i++) {
    napi_value n;
    napi_create_int32(env, v[i], &n);
    napi_set_element(env, out, i, n);
  }
  return out;
}

void tendril_register_input(napi_env env, napi_value exports) {
  tendril_export(env, exports, "evdevGrab", evdev_grab_fn);
  tendril_export(env, exports, "evdevName", evdev_name_fn);
  tendril_export(env, exports, "evdevBits", evdev_bits_fn);
  tendril_export(env, exports, "evdevAbsInfo", evdev_abs_info_fn);
}
