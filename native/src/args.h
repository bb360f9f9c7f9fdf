// Argument and result helpers shared by every binding (sys.c, kvm.c, addon.c): strict and
// lossless. A JS number is taken only when it is an exact integer inside the C type's range
// (no truncated fractions, no NaN or Infinity casts, nothing beyond 2^53 - 1 where doubles stop
// being exact); a bigint is taken when it fits losslessly, which is how 64-bit values beyond
// 2^53 arrive. Every refusal throws a TypeError that names the function and the argument
// ("kvmMapAnon: size must be an integer in 0..9007199254740991, got 1.5") and returns false;
// the binding then returns NULL at once.
#ifndef TENDRIL_ARGS_H
#define TENDRIL_ARGS_H
#include "addon.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TENDRIL_MAX_ARGS 8
// 2^53 - 1: beyond it doubles skip integers, so a number there may already have been rounded.
#define TENDRIL_MAX_SAFE_INTEGER 9007199254740991LL

typedef struct {
  napi_env env;
  const char *fn;  // the JavaScript name, for messages
  size_t argc;     // as passed by the caller (extra ones are ignored)
  napi_value argv[TENDRIL_MAX_ARGS];
} tendril_args;

// Fetch the call's arguments. False (with an exception pending) only if N-API itself fails.
bool tendril_args_init(tendril_args *a, napi_env env, napi_callback_info info, const char *fn);
// Argument i was passed and is not undefined (for optional arguments).
bool tendril_arg_present(const tendril_args *a, size_t i);

// An integer in [min, max] from a number or a bigint.
bool tendril_arg_int(const tendril_args *a, size_t i, const char *name, int64_t min, int64_t max, int64_t *out);
// An unsigned integer in [0, max] from a number (≤ 2^53 - 1) or a bigint (the full 64 bits).
bool tendril_arg_u64(const tendril_args *a, size_t i, const char *name, uint64_t max, uint64_t *out);
bool tendril_arg_i32(const tendril_args *a, size_t i, const char *name, int32_t min, int32_t max, int32_t *out);
// The full uint32_t range (flags, ports, IRQ numbers).
bool tendril_arg_u32(const tendril_args *a, size_t i, const char *name, uint32_t *out);
// A file descriptor: 0..INT32_MAX.
bool tendril_arg_fd(const tendril_args *a, size_t i, const char *name, int *out);
bool tendril_arg_bool(const tendril_args *a, size_t i, const char *name, bool *out);
// A string without NUL bytes (the kernel would stop at the first), copied into malloc'd memory
// the caller frees. With nullable, null/undefined give *out = NULL. *len may be NULL.
bool tendril_arg_str(const tendril_args *a, size_t i, const char *name, bool nullable, char **out, size_t *len);
// The bytes of a Uint8Array (a Buffer is one), not copied; valid during the call. The value
// form takes null/undefined too when nullable (*data = NULL, *len = 0).
bool tendril_arg_bytes(const tendril_args *a, size_t i, const char *name, void **data, size_t *len);
// An ArrayBuffer, or with nullable null/undefined (*data = NULL, *len = 0).
bool tendril_arg_arraybuffer(const tendril_args *a, size_t i, const char *name, bool nullable, void **data,
                             size_t *len);

// The same checks on a value that is not a direct argument (an object's property); name is
// the full path used in messages, e.g. "segments[2].mem".
bool tendril_value_u64(napi_env env, napi_value v, const char *fn, const char *name, uint64_t max, uint64_t *out);
bool tendril_value_bytes(napi_env env, napi_value v, const char *fn, const char *name, bool nullable, void **data,
                         size_t *len);

// Results. tendril_number_u64 returns a number when the value is exact as a double, and
// otherwise throws a RangeError naming fn and what rather than returning a rounded number.
napi_value tendril_undefined(napi_env env);
napi_value tendril_number(napi_env env, double d);
napi_value tendril_number_u64(napi_env env, const char *fn, const char *what, uint64_t v);
#endif
