// Block compressor for worker threads: one libsquashfs compressor per instance, called synchronously.
#include <sqfs/compressor.h>

#include "addon.h"
#include "sqfs_util.h"

namespace airship {

class BlockCompressor : public Napi::ObjectWrap<BlockCompressor> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "BlockCompressor", {InstanceMethod("compress", &BlockCompressor::Compress)});
  }

  explicit BlockCompressor(const Napi::CallbackInfo &info) : Napi::ObjectWrap<BlockCompressor>(info) {
    if (!info[0].IsObject())
      throw Napi::TypeError::New(info.Env(), "BlockCompressor(options) needs an object");
    sqfs_compressor_config_t cfg = CompressorConfigFrom(info[0].As<Napi::Object>());
    int ret = 0;
    sqfs_compressor_t *raw = CreateBlockCompressor(cfg, &ret);
    if (ret != 0 || raw == nullptr) throw SqfsError(info.Env(), ret, "creating compressor", "");
    cmp_.reset(raw);
  }

 private:
  // compress(src, dst) → compressed length in dst, or 0 when the block does not shrink (store it raw).
  Napi::Value Compress(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    if (!info[0].IsTypedArray() || !info[1].IsTypedArray())
      throw Napi::TypeError::New(env, "compress(src: Uint8Array, dst: Uint8Array)");
    auto src = info[0].As<Napi::Uint8Array>();
    auto dst = info[1].As<Napi::Uint8Array>();
    sqfs_s32 n = cmp_->do_block(cmp_.get(), src.Data(), static_cast<sqfs_u32>(src.ByteLength()), dst.Data(),
                                static_cast<sqfs_u32>(dst.ByteLength()));
    if (n < 0) throw SqfsError(env, n, "compressing a block", "");
    if (static_cast<size_t>(n) >= src.ByteLength()) n = 0;
    return Napi::Number::New(env, n);
  }

  SqfsPtr<sqfs_compressor_t> cmp_;
};

void InitCompressor(Napi::Env env, Napi::Object exports) {
  exports.Set("BlockCompressor", BlockCompressor::Define(env));
}

}  // namespace airship
