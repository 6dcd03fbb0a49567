// Block decompressor for the block cache: a cached entry is trusted only once its body decompresses to
// exactly the block it is filed under (a shared or damaged cache must not put other bytes into an image).
#include <sqfs/compressor.h>

#include "addon.h"
#include "sqfs_util.h"

namespace airship {

class BlockDecompressor : public Napi::ObjectWrap<BlockDecompressor> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "BlockDecompressor",
                       {InstanceMethod("decompress", &BlockDecompressor::Decompress)});
  }

  explicit BlockDecompressor(const Napi::CallbackInfo &info) : Napi::ObjectWrap<BlockDecompressor>(info) {
    if (!info[0].IsObject())
      throw Napi::TypeError::New(info.Env(), "BlockDecompressor(options) needs an object");
    sqfs_compressor_config_t cfg = CompressorConfigFrom(info[0].As<Napi::Object>());
    cfg.flags |= SQFS_COMP_FLAG_UNCOMPRESS;
    sqfs_compressor_t *raw = nullptr;
    int ret = sqfs_compressor_create(&cfg, &raw);
    if (ret != 0 || raw == nullptr) throw SqfsError(info.Env(), ret, "creating decompressor", "");
    cmp_.reset(raw);
  }

 private:
  // decompress(src, dst) → bytes written to dst, or -1 when src is not a valid block that fits dst.
  Napi::Value Decompress(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    if (!info[0].IsTypedArray() || !info[1].IsTypedArray())
      throw Napi::TypeError::New(env, "decompress(src: Uint8Array, dst: Uint8Array)");
    auto src = info[0].As<Napi::Uint8Array>();
    auto dst = info[1].As<Napi::Uint8Array>();
    sqfs_s32 n = cmp_->do_block(cmp_.get(), src.Data(), static_cast<sqfs_u32>(src.ByteLength()), dst.Data(),
                                static_cast<sqfs_u32>(dst.ByteLength()));
    return Napi::Number::New(env, n < 0 ? -1 : n);
  }

  SqfsPtr<sqfs_compressor_t> cmp_;
};

void InitDecompressor(Napi::Env env, Napi::Object exports) {
  exports.Set("BlockDecompressor", BlockDecompressor::Define(env));
}

}  // namespace airship
