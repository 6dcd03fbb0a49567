// Raw CPUID and XGETBV for the doctor: registers only; decoding the bits is TypeScript's job.
#include "addon.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define AIRSHIP_X86 1
#endif

namespace airship {

#ifdef AIRSHIP_X86
// cpuid(leaf, subleaf) → [eax, ebx, ecx, edx]
static Napi::Value Cpuid(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber()) throw Napi::TypeError::New(env, "cpuid(leaf: number, subleaf?: number)");
  uint32_t leaf = info[0].As<Napi::Number>().Uint32Value();
  uint32_t sub = info[1].IsNumber() ? info[1].As<Napi::Number>().Uint32Value() : 0;
  unsigned int a = 0, b = 0, c = 0, d = 0;
  __cpuid_count(leaf, sub, a, b, c, d);
  Napi::Array out = Napi::Array::New(env, 4);
  out.Set(0u, Napi::Number::New(env, a));
  out.Set(1u, Napi::Number::New(env, b));
  out.Set(2u, Napi::Number::New(env, c));
  out.Set(3u, Napi::Number::New(env, d));
  return out;
}

// xgetbv(0) → [low, high] of XCR0, or null when the OS has not enabled XSAVE (the instruction would fault).
static Napi::Value Xgetbv(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  unsigned int a = 0, b = 0, c = 0, d = 0;
  __cpuid(1, a, b, c, d);
  if ((c & (1u << 27)) == 0) return env.Null();
  uint32_t index = info[0].IsNumber() ? info[0].As<Napi::Number>().Uint32Value() : 0;
  uint32_t lo = 0, hi = 0;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(index));
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(0u, Napi::Number::New(env, lo));
  out.Set(1u, Napi::Number::New(env, hi));
  return out;
}
#endif

void InitCpuid(Napi::Env env, Napi::Object exports) {
#ifdef AIRSHIP_X86
  // Absent on other architectures: the TS side then reports "CPUID unavailable" and uses /proc/cpuinfo only.
  exports.Set("cpuid", Napi::Function::New(env, Cpuid));
  exports.Set("xgetbv", Napi::Function::New(env, Xgetbv));
#else
  (void)env;
  (void)exports;
#endif
}

}  // namespace airship
