// Facts about the linked libsquashfs: its version and which compressors it was built with.
#include <sqfs/compressor.h>
#include <sqfs/predef.h>
#include <sqfs/super.h>

#include "addon.h"

namespace airship {

static bool CompressorWorks(SQFS_COMPRESSOR id) {
  sqfs_compressor_config_t cfg;
  if (sqfs_compressor_config_init(&cfg, id, 131072, 0) != 0) return false;
  sqfs_compressor_t *comp = nullptr;
  if (sqfs_compressor_create(&cfg, &comp) != 0 || comp == nullptr) return false;
  sqfs_destroy(comp);
  return true;
}

static Napi::Value Info(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  out.Set("libsquashfs", Napi::String::New(env, LIBSQUASHFS_VERSION));
  Napi::Array comps = Napi::Array::New(env);
  uint32_t n = 0;
  for (int id = SQFS_COMP_MIN; id <= SQFS_COMP_MAX; ++id) {
    const char *name = sqfs_compressor_name_from_id(static_cast<SQFS_COMPRESSOR>(id));
    if (name != nullptr && CompressorWorks(static_cast<SQFS_COMPRESSOR>(id))) {
      comps.Set(n++, Napi::String::New(env, name));
    }
  }
  out.Set("compressors", comps);
  return out;
}

void InitInfo(Napi::Env env, Napi::Object exports) { exports.Set("info", Napi::Function::New(env, Info)); }

}  // namespace airship
