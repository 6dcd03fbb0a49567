// Facts about the linked libraries: libsquashfs' version and compressors, and the system zlib gzip blocks are
// made with. A missing system zlib fails the load: libsquashfs would otherwise bind to Node's zlib, and gzip
// images would silently come out different (and larger).
#include <sqfs/compressor.h>
#include <sqfs/predef.h>
#include <sqfs/super.h>

#include "addon.h"
#include "sqfs_util.h"

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
  const SystemZlibInfo &z = SystemZlibStatus();
  Napi::Object zlib = Napi::Object::New(env);
  zlib.Set("soname", Napi::String::New(env, z.soname));
  zlib.Set("path", Napi::String::New(env, z.path));
  zlib.Set("version", Napi::String::New(env, z.version));
  out.Set("zlib", zlib);
  return out;
}

void InitInfo(Napi::Env env, Napi::Object exports) {
  const SystemZlibInfo &z = SystemZlibStatus();
  if (!z.ok) {
    Napi::Error e = Napi::Error::New(env, "the system zlib (" + z.soname + ") cannot be loaded: " + z.error +
                                              "; gzip images need it (install zlib1g)");
    e.Set("code", Napi::String::New(env, "ERR_SYSTEM_ZLIB"));
    throw e;
  }
  exports.Set("info", Napi::Function::New(env, Info));
}

}  // namespace airship
