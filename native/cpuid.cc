// Raw CPUID and XGETBV for the doctor: registers only; decoding the bits is TypeScript's job.
#include "addon.h"
#include "args.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define AIRSHIP_X86 1
#endif

namespace airship {

#ifdef AIRSHIP_X86
// cpuid(leaf, subleaf) → [eax, ebx, ecx, edx]
static Napi::Value Cpuid(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  uint32_t leaf = U32Arg(env, "cpuid", "leaf", info[0]);
  uint32_t sub = info[1].IsUndefined() ? 0 : U32Arg(env, "cpuid", "subleaf", info[1]);
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
  uint32_t index = info[0].IsUndefined() ? 0 : U32Arg(env, "xgetbv", "index", info[0]);
  // XGETBV faults (#GP, a crash) on a register the CPU does not have: XCR0 always, XCR1 when CPUID leaf 0xD
  // sub-leaf 1 says so.
  bool xcr1 = false;
  if (__get_cpuid_max(0, nullptr) >= 0xD) {
    unsigned int xa = 0, xb = 0, xc = 0, xd = 0;
    __cpuid_count(0xD, 1, xa, xb, xc, xd);
    xcr1 = (xa & (1u << 2)) != 0;
  }
  if (index > 1 || (index == 1 && !xcr1))
    throw ArgRangeError(env, "xgetbv", "index", "names no extended control register this CPU has");
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
