// Argument checks shared by every entry point (see args.h).
#include "args.h"

#include <cmath>
#include <cstdio>
#include <type_traits>

namespace airship {

namespace {

const char *TypedArrayName(napi_typedarray_type t) {
  switch (t) {
    case napi_int8_array:
      return "Int8Array";
    case napi_uint8_array:
      return "Uint8Array";
    case napi_uint8_clamped_array:
      return "Uint8ClampedArray";
    case napi_int16_array:
      return "Int16Array";
    case napi_uint16_array:
      return "Uint16Array";
    case napi_int32_array:
      return "Int32Array";
    case napi_uint32_array:
      return "Uint32Array";
    case napi_float32_array:
      return "Float32Array";
    case napi_float64_array:
      return "Float64Array";
    case napi_bigint64_array:
      return "BigInt64Array";
    case napi_biguint64_array:
      return "BigUint64Array";
    default:
      return "a typed array";
  }
}

// What a value is, for a message: its type, and a number's value (the likely mistake is NaN or a fraction).
std::string Describe(const Napi::Value &v) {
  if (v.IsUndefined()) return "undefined";
  if (v.IsNull()) return "null";
  if (v.IsTypedArray()) return TypedArrayName(v.As<Napi::TypedArray>().TypedArrayType());
  if (v.IsNumber()) {
    double d = v.As<Napi::Number>().DoubleValue();
    if (std::isnan(d)) return "NaN";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.17g", d);
    return std::string("number ") + buf;
  }
  if (v.IsString()) return "a string";
  if (v.IsBoolean()) return "a boolean";
  if (v.IsArray()) return "an array";
  if (v.IsFunction()) return "a function";
  if (v.IsArrayBuffer()) return "an ArrayBuffer";
  if (v.IsObject()) return "an object";
  return "a value of another type";
}

template <typename T>
napi_typedarray_type TypeFor() {
  if (std::is_same<T, uint8_t>::value) return napi_uint8_array;
  if (std::is_same<T, uint32_t>::value) return napi_uint32_array;
  return napi_float64_array;
}

}  // namespace

Napi::TypeError ArgTypeError(Napi::Env env, const char *fn, const std::string &arg, const char *expected,
                             const Napi::Value &got) {
  Napi::TypeError e = Napi::TypeError::New(
      env, std::string(fn) + ": " + arg + " must be " + expected + " (got " + Describe(got) + ")");
  e.Set("code", Napi::String::New(env, "ERR_INVALID_ARG_TYPE"));
  return e;
}

Napi::RangeError ArgRangeError(Napi::Env env, const char *fn, const std::string &arg,
                               const std::string &problem) {
  Napi::RangeError e = Napi::RangeError::New(env, std::string(fn) + ": " + arg + " " + problem);
  e.Set("code", Napi::String::New(env, "ERR_OUT_OF_RANGE"));
  return e;
}

double IntegerIn(Napi::Env env, const char *fn, const std::string &arg, const Napi::Value &v, double min,
                 double max) {
  if (!v.IsNumber()) throw ArgTypeError(env, fn, arg, "an integer", v);
  double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || d != std::trunc(d)) throw ArgTypeError(env, fn, arg, "an integer", v);
  return IntegerIn(env, fn, arg, d, min, max);
}

double IntegerIn(Napi::Env env, const char *fn, const std::string &arg, double d, double min, double max) {
  if (!(d >= min && d <= max) || d != std::trunc(d)) {
    char buf[96];
    if (std::isnan(d))
      std::snprintf(buf, sizeof buf, "must be an integer in [%.0f, %.0f] (got NaN)", min, max);
    else
      std::snprintf(buf, sizeof buf, "must be an integer in [%.0f, %.0f] (got %.17g)", min, max, d);
    throw ArgRangeError(env, fn, arg, buf);
  }
  return d;
}

uint32_t U32Arg(Napi::Env env, const char *fn, const std::string &arg, const Napi::Value &v) {
  return static_cast<uint32_t>(IntegerIn(env, fn, arg, v, 0, UINT32_MAX));
}

int32_t I32Arg(Napi::Env env, const char *fn, const std::string &arg, const Napi::Value &v) {
  return static_cast<int32_t>(IntegerIn(env, fn, arg, v, INT32_MIN, INT32_MAX));
}

uint64_t SizeArg(Napi::Env env, const char *fn, const std::string &arg, const Napi::Value &v) {
  return static_cast<uint64_t>(IntegerIn(env, fn, arg, v, 0, kMaxSafe));
}

Napi::Object ObjectArg(Napi::Env env, const char *fn, const std::string &arg, const Napi::Value &v) {
  if (!v.IsObject() || v.IsArray() || v.IsFunction()) throw ArgTypeError(env, fn, arg, "an object", v);
  return v.As<Napi::Object>();
}

std::string StringArg(Napi::Env env, const char *fn, const std::string &arg, const Napi::Value &v) {
  if (!v.IsString()) throw ArgTypeError(env, fn, arg, "a string", v);
  return v.As<Napi::String>().Utf8Value();
}

Napi::Array ArrayArg(Napi::Env env, const char *fn, const std::string &arg, const Napi::Value &v) {
  if (!v.IsArray()) throw ArgTypeError(env, fn, arg, "an array", v);
  return v.As<Napi::Array>();
}

uint32_t OptU32(const Napi::Object &opts, const char *fn, const char *key, uint32_t dflt, uint32_t min,
                uint32_t max) {
  Napi::Value v = opts.Get(key);
  if (v.IsUndefined()) return dflt;
  return static_cast<uint32_t>(IntegerIn(opts.Env(), fn, std::string("options.") + key, v, min, max));
}

bool OptBool(const Napi::Object &opts, const char *fn, const char *key) {
  Napi::Value v = opts.Get(key);
  if (v.IsUndefined()) return false;
  if (!v.IsBoolean()) throw ArgTypeError(opts.Env(), fn, std::string("options.") + key, "a boolean", v);
  return v.As<Napi::Boolean>().Value();
}

template <typename T>
Napi::TypedArrayOf<T> TypedArg(Napi::Env env, const char *fn, const std::string &arg, const Napi::Value &v) {
  const napi_typedarray_type want = TypeFor<T>();
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != want)
    throw ArgTypeError(env, fn, arg, (std::string("a ") + TypedArrayName(want)).c_str(), v);
  return v.As<Napi::TypedArrayOf<T>>();
}

template Napi::TypedArrayOf<uint8_t> TypedArg(Napi::Env, const char *, const std::string &,
                                              const Napi::Value &);
template Napi::TypedArrayOf<uint32_t> TypedArg(Napi::Env, const char *, const std::string &,
                                               const Napi::Value &);
template Napi::TypedArrayOf<double> TypedArg(Napi::Env, const char *, const std::string &,
                                             const Napi::Value &);

}  // namespace airship
