#include "addon.h"

// Context-aware module: every worker thread that loads the addon gets its own exports object,
// and no module keeps process-wide JS state.
static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) {
  airship::InitInfo(env, exports);
  airship::InitConstants(env, exports);
  airship::InitCompressor(env, exports);
  airship::InitDecompressor(env, exports);
  airship::InitWriter(env, exports);
  airship::InitScan(env, exports);
  airship::InitFileIo(env, exports);
  airship::InitCpuid(env, exports);
  airship::InitTreeFs(env, exports);
  airship::InitTreeTimes(env, exports);
  airship::InitExt4Fill(env, exports);
  airship::InitQcow2(env, exports);
  airship::InitQcow2Copy(env, exports);
  return exports;
}

NODE_API_MODULE(airship_native, InitAddon)
