// Arguments from JavaScript, checked before use: a value of the wrong type or out of range becomes a JS
// TypeError or RangeError naming the call and the argument (code ERR_INVALID_ARG_TYPE or ERR_OUT_OF_RANGE, as
// Node's own), never an unchecked As<T>() or a read past a buffer's end.
#pragma once
#include <napi.h>

#include <cstdint>
#include <string>

namespace airship {

// The one factory for argument errors: "<fn>: <arg> must be <expected> (got <what value is>)".
Napi::TypeError ArgTypeError(Napi::Env env, const char *fn, const std::string &arg, const char *expected,
                             const Napi::Value &got);
// "<fn>: <arg> <problem>", e.g. "writeInodes: span 3 runs past the payload".
Napi::RangeError ArgRangeError(Napi::Env env, const char *fn, const std::string &arg,
                               const std::string &problem);

// An integer-valued number in [min, max] (max at most 2^53, the largest exact double).
double IntegerIn(Napi::Env env, const char *fn, const std::string &arg, const Napi::Value &v, double min,
                 double max);
// Whether d is a whole number in [min, max] (false for NaN): the cheap test before building a message.
inline bool IsIntegerIn(double d, double min, double max) {
  return d >= min && d <= max && d == static_cast<double>(static_cast<int64_t>(d));
}
// The same for a number read out of a typed array (NaN, a fraction or a value out of range: RangeError).
double IntegerIn(Napi::Env env, const char *fn, const std::string &arg, double d, double min, double max);
uint32_t U32Arg(Napi::Env env, const char *fn, const std::string &arg, const Napi::Value &v);
int32_t I32Arg(Napi::Env env, const char *fn, const std::string &arg, const Napi::Value &v);
// The largest integer a double holds exactly.
constexpr double kMaxSafe = 9007199254740992.0;
// A byte count or offset: an integer in [0, 2^53].
uint64_t SizeArg(Napi::Env env, const char *fn, const std::string &arg, const Napi::Value &v);

Napi::Object ObjectArg(Napi::Env env, const char *fn, const std::string &arg, const Napi::Value &v);
std::string StringArg(Napi::Env env, const char *fn, const std::string &arg, const Napi::Value &v);
Napi::Array ArrayArg(Napi::Env env, const char *fn, const std::string &arg, const Napi::Value &v);

// An options field: `dflt` when undefined, else an integer in [min, max] (TypeError naming options.<key>).
uint32_t OptU32(const Napi::Object &opts, const char *fn, const char *key, uint32_t dflt, uint32_t min = 0,
                uint32_t max = UINT32_MAX);
// An options field: `false` when undefined, else a boolean.
bool OptBool(const Napi::Object &opts, const char *fn, const char *key);

// A typed array of exactly T's element type (a Buffer counts as a Uint8Array).
template <typename T>
Napi::TypedArrayOf<T> TypedArg(Napi::Env env, const char *fn, const std::string &arg, const Napi::Value &v);

extern template Napi::TypedArrayOf<uint8_t> TypedArg(Napi::Env, const char *, const std::string &,
                                                     const Napi::Value &);
extern template Napi::TypedArrayOf<uint32_t> TypedArg(Napi::Env, const char *, const std::string &,
                                                      const Napi::Value &);
extern template Napi::TypedArrayOf<double> TypedArg(Napi::Env, const char *, const std::string &,
                                                    const Napi::Value &);

}  // namespace airship
