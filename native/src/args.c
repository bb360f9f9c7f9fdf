// The strict argument helpers declared in args.h.
#define _GNU_SOURCE
#include "args.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool throw_type(napi_env env, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool throw_type(napi_env env, const char *fmt, ...) {
  char msg[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  napi_throw_type_error(env, NULL, msg);
  return false;
}

static const char *type_name(napi_valuetype t) {
  switch (t) {
    case napi_undefined: return "undefined";
    case napi_null: return "null";
    case napi_boolean: return "a boolean";
    case napi_number: return "a number";
    case napi_string: return "a string";
    case napi_symbol: return "a symbol";
    case napi_object: return "an object";
    case napi_function: return "a function";
    case napi_external: return "an external";
    case napi_bigint: return "a bigint";
  }
  return "an unknown type";
}

// The double as JavaScript would print it, closely enough for a message.
static void format_double(char *buf, size_t n, double d) {
  if (d != d) snprintf(buf, n, "NaN");
  else if (d > 1.7976931348623157e308) snprintf(buf, n, "Infinity");
  else if (d < -1.7976931348623157e308) snprintf(buf, n, "-Infinity");
  else {
    snprintf(buf, n, "%.15g", d);
    if (strtod(buf, NULL) != d) snprintf(buf, n, "%.17g", d);
  }
}

// An exact integer within ±(2^53 - 1); NaN fails the first comparison.
static bool exact_integer(double d, int64_t *out) {
  if (!(d >= -(double)TENDRIL_MAX_SAFE_INTEGER && d <= (double)TENDRIL_MAX_SAFE_INTEGER)) return false;
  int64_t i = (int64_t)d;
  if ((double)i != d) return false;
  *out = i;
  return true;
}

static bool value_type(napi_env env, napi_value v, napi_valuetype *t) {
  if (napi_typeof(env, v, t) == napi_ok) return true;
  napi_throw_error(env, NULL, "napi_typeof failed");
  return false;
}

bool tendril_args_init(tendril_args *a, napi_env env, napi_callback_info info, const char *fn) {
  a->env = env;
  a->fn = fn;
  size_t argc = TENDRIL_MAX_ARGS;
  if (napi_get_cb_info(env, info, &argc, a->argv, NULL, NULL) != napi_ok) {
    napi_throw_error(env, NULL, "napi_get_cb_info failed");
    return false;
  }
  a->argc = argc < TENDRIL_MAX_ARGS ? argc : TENDRIL_MAX_ARGS;
  return true;
}

bool tendril_arg_present(const tendril_args *a, size_t i) {
  napi_valuetype t;
  return i < a->argc && napi_typeof(a->env, a->argv[i], &t) == napi_ok && t != napi_undefined;
}

static bool require(const tendril_args *a, size_t i, const char *name) {
  if (i < a->argc) return true;
  return throw_type(a->env, "%s: %s is missing", a->fn, name);
}

static bool value_int(napi_env env, napi_value v, const char *fn, const char *name, int64_t min, int64_t max,
                      int64_t *out) {
  napi_valuetype t;
  if (!value_type(env, v, &t)) return false;
  int64_t x;
  if (t == napi_bigint) {
    bool lossless;
    if (napi_get_value_bigint_int64(env, v, &x, &lossless) != napi_ok)
      return throw_type(env, "%s: %s: bad bigint", fn, name);
    if (!lossless || x < min || x > max)
      return throw_type(env, "%s: %s must be an integer in %lld..%lld, got a bigint outside it", fn, name,
                        (long long)min, (long long)max);
  } else if (t == napi_number) {
    double d;
    napi_get_value_double(env, v, &d);
    if (!exact_integer(d, &x) || x < min || x > max) {
      char got[40];
      format_double(got, sizeof got, d);
      return throw_type(env, "%s: %s must be an integer in %lld..%lld, got %s", fn, name, (long long)min,
                        (long long)max, got);
    }
  } else {
    return throw_type(env, "%s: %s must be a number or bigint, got %s", fn, name, type_name(t));
  }
  *out = x;
  return true;
}

bool tendril_value_u64(napi_env env, napi_value v, const char *fn, const char *name, uint64_t max, uint64_t *out) {
  napi_valuetype t;
  if (!value_type(env, v, &t)) return false;
  uint64_t x;
  if (t == napi_bigint) {
    bool lossless;
    if (napi_get_value_bigint_uint64(env, v, &x, &lossless) != napi_ok)
      return throw_type(env, "%s: %s: bad bigint", fn, name);
    if (!lossless || x > max)
      return throw_type(env, "%s: %s must be an integer in 0..%llu, got a bigint outside it", fn, name,
                        (unsigned long long)max);
  } else if (t == napi_number) {
    double d;
    int64_t i;
    napi_get_value_double(env, v, &d);
    if (!exact_integer(d, &i) || i < 0 || (uint64_t)i > max) {
      char got[40];
      format_double(got, sizeof got, d);
      unsigned long long shown = max < (uint64_t)TENDRIL_MAX_SAFE_INTEGER ? max : (uint64_t)TENDRIL_MAX_SAFE_INTEGER;
      return throw_type(env, "%s: %s must be an integer in 0..%llu%s, got %s", fn, name, shown,
                        max > (uint64_t)TENDRIL_MAX_SAFE_INTEGER ? " (a bigint above that)" : "", got);
    }
    x = (uint64_t)i;
  } else {
    return throw_type(env, "%s: %s must be a number or bigint, got %s", fn, name, type_name(t));
  }
  *out = x;
  return true;
}

bool tendril_arg_int(const tendril_args *a, size_t i, const char *name, int64_t min, int64_t max, int64_t *out) {
  return require(a, i, name) && value_int(a->env, a->argv[i], a->fn, name, min, max, out);
}

bool tendril_arg_u64(const tendril_args *a, size_t i, const char *name, uint64_t max, uint64_t *out) {
  return require(a, i, name) && tendril_value_u64(a->env, a->argv[i], a->fn, name, max, out);
}

bool tendril_arg_i32(const tendril_args *a, size_t i, const char *name, int32_t min, int32_t max, int32_t *out) {
  int64_t x;
  if (!tendril_arg_int(a, i, name, min, max, &x)) return false;
  *out = (int32_t)x;
  return true;
}

bool tendril_arg_u32(const tendril_args *a, size_t i, const char *name, uint32_t *out) {
  uint64_t x;
  if (!tendril_arg_u64(a, i, name, UINT32_MAX, &x)) return false;
  *out = (uint32_t)x;
  return true;
}

bool tendril_arg_fd(const tendril_args *a, size_t i, const char *name, int *out) {
  int32_t fd;
  if (!tendril_arg_i32(a, i, name, 0, INT32_MAX, &fd)) return false;
  *out = fd;
  return true;
}

bool tendril_arg_bool(const tendril_args *a, size_t i, const char *name, bool *out) {
  napi_valuetype t;
  if (!require(a, i, name) || !value_type(a->env, a->argv[i], &t)) return false;
  if (t != napi_boolean) return throw_type(a->env, "%s: %s must be a boolean, got %s", a->fn, name, type_name(t));
  napi_get_value_bool(a->env, a->argv[i], out);
  return true;
}

bool tendril_arg_str(const tendril_args *a, size_t i, const char *name, bool nullable, char **out, size_t *len) {
  napi_valuetype t = napi_undefined;
  *out = NULL;
  if (len) *len = 0;
  if (i < a->argc && !value_type(a->env, a->argv[i], &t)) return false;
  if (nullable && (t == napi_null || t == napi_undefined)) return true;
  if (!require(a, i, name)) return false;
  if (t != napi_string)
    return throw_type(a->env, "%s: %s must be a string%s, got %s", a->fn, name, nullable ? " or null" : "",
                      type_name(t));
  size_t n;
  napi_get_value_string_utf8(a->env, a->argv[i], NULL, 0, &n);
  char *s = malloc(n + 1);
  if (!s) {
    tendril_throw_errno(a->env, "malloc", ENOMEM);
    return false;
  }
  napi_get_value_string_utf8(a->env, a->argv[i], s, n + 1, &n);
  if (strlen(s) != n) {  // an embedded NUL: the kernel would silently stop there
    free(s);
    return throw_type(a->env, "%s: %s must not contain NUL bytes", a->fn, name);
  }
  *out = s;
  if (len) *len = n;
  return true;
}

bool tendril_value_bytes(napi_env env, napi_value v, const char *fn, const char *name, bool nullable, void **data,
                         size_t *len) {
  napi_valuetype t;
  *data = NULL;
  *len = 0;
  if (!value_type(env, v, &t)) return false;
  if (nullable && (t == napi_null || t == napi_undefined)) return true;
  bool is_ta = false;
  napi_typedarray_type tt = napi_int8_array;
  napi_is_typedarray(env, v, &is_ta);
  if (is_ta) napi_get_typedarray_info(env, v, &tt, len, data, NULL, NULL);  // data includes byte_offset
  if (!is_ta || tt != napi_uint8_array)
    return throw_type(env, "%s: %s must be a Uint8Array%s, got %s", fn, name, nullable ? " or null" : "",
                      is_ta ? "another typed array" : type_name(t));
  return true;
}

bool tendril_arg_bytes(const tendril_args *a, size_t i, const char *name, void **data, size_t *len) {
  return require(a, i, name) && tendril_value_bytes(a->env, a->argv[i], a->fn, name, false, data, len);
}

bool tendril_arg_arraybuffer(const tendril_args *a, size_t i, const char *name, bool nullable, void **data,
                             size_t *len) {
  napi_valuetype t = napi_undefined;
  *data = NULL;
  *len = 0;
  if (i < a->argc && !value_type(a->env, a->argv[i], &t)) return false;
  if (nullable && (t == napi_null || t == napi_undefined)) return true;
  if (!require(a, i, name)) return false;
  bool is_ab = false;
  napi_is_arraybuffer(a->env, a->argv[i], &is_ab);
  if (!is_ab)
    return throw_type(a->env, "%s: %s must be an ArrayBuffer%s, got %s", a->fn, name, nullable ? " or null" : "",
                      type_name(t));
  napi_get_arraybuffer_info(a->env, a->argv[i], data, len);
  return true;
}

napi_value tendril_undefined(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

napi_value tendril_number(napi_env env, double d) {
  napi_value v;
  napi_create_double(env, d, &v);
  return v;
}

napi_value tendril_number_u64(napi_env env, const char *fn, const char *what, uint64_t v) {
  if (v > (uint64_t)TENDRIL_MAX_SAFE_INTEGER) {
    char msg[160];
    snprintf(msg, sizeof msg, "%s: %s %llu does not fit a JavaScript number exactly", fn, what, (unsigned long long)v);
    napi_throw_range_error(env, NULL, msg);
    return NULL;
  }
  return tendril_number(env, (double)v);
}
