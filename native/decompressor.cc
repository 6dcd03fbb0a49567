// Block decompressor for the block cache: a cached entry is trusted only once its body decompresses to
// exactly the block it is filed under (a shared or damaged cache must not put other bytes into an image).
#include <sqfs/compressor.h>

#include "addon.h"
#include "args.h"
#include "sqfs_util.h"

namespace airship {

class BlockDecompressor : public Napi::ObjectWrap<BlockDecompressor> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "BlockDecompressor",
                       {InstanceMethod("decompress", &BlockDecompressor::Decompress)});
  }

  explicit BlockDecompressor(const Napi::CallbackInfo &info) : Napi::ObjectWrap<BlockDecompressor>(info) {
    const char *fn = "new BlockDecompressor";
    sqfs_compressor_config_t cfg = CompressorConfigFrom(ObjectArg(info.Env(), fn, "options", info[0]), fn);
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
    const char *fn = "BlockDecompressor.decompress";
    auto src = TypedArg<uint8_t>(env, fn, "src", info[0]);
    auto dst = TypedArg<uint8_t>(env, fn, "dst", info[1]);
    if (src.ByteLength() > INT32_MAX) throw ArgRangeError(env, fn, "src", "is over 2 GiB");
    if (dst.ByteLength() > INT32_MAX) throw ArgRangeError(env, fn, "dst", "is over 2 GiB");
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
