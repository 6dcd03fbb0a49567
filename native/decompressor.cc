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
    cmp_ = MakeCompressor(info.Env(), CompressorConfigFrom(ObjectArg(info.Env(), fn, "options", info[0]), fn),
                          true, "creating decompressor");
  }

 private:
  // decompress(src, dst) → bytes written to dst, or -1 when src is not a valid block that fits dst.
  Napi::Value Decompress(const Napi::CallbackInfo &info) {
    sqfs_s32 n = BlockCall(info, "BlockDecompressor.decompress", cmp_.get());
    return Napi::Number::New(info.Env(), n < 0 ? -1 : n);
  }

  SqfsPtr<sqfs_compressor_t> cmp_;
};

void InitDecompressor(Napi::Env env, Napi::Object exports) {
  exports.Set("BlockDecompressor", BlockDecompressor::Define(env));
}

}  // namespace airship
