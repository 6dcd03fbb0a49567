// Block compressor for worker threads: one libsquashfs compressor per instance, called synchronously.
#include <sqfs/compressor.h>

#include <cstring>

#include "addon.h"
#include "fs_util.h"
#include "mapped_file.h"
#include "sqfs_util.h"

namespace airship {

namespace {

// SquashFS marks a data block stored uncompressed with this bit of its size word.
constexpr uint32_t kRawBit = 1u << 24;

bool AllZero(const uint8_t *p, size_t n) {
  uint64_t acc = 0;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    acc |= w;
    // Checking every 4 KiB stops early on data without slowing the all-zero case.
    if ((i & 4095) == 4088 && acc != 0) return false;
  }
  for (; i < n; i++) acc |= p[i];
  return acc == 0;
}

// One file range cut into blocks; plain data only, so RunGuarded may abandon it.
struct BlockRun {
  sqfs_compressor_t *cmp;
  const uint8_t *src;
  size_t length;
  size_t blockSize;
  uint8_t *out;
  uint32_t *words;
  size_t used;
  sqfs_s32 error;
};

void CompressRun(void *arg) {
  auto *r = static_cast<BlockRun *>(arg);
  for (size_t at = 0, i = 0; at < r->length; at += r->blockSize, i++) {
    const uint8_t *block = r->src + at;
    auto len = static_cast<sqfs_u32>(std::min(r->blockSize, r->length - at));
    if (AllZero(block, len)) {
      r->words[i] = 0;
      continue;
    }
    uint8_t *dst = r->out + r->used;
    sqfs_s32 n = r->cmp->do_block(r->cmp, block, len, dst, len);
    if (n < 0) {
      r->error = n;
      return;
    }
    if (n == 0 || static_cast<sqfs_u32>(n) >= len) {
      std::memcpy(dst, block, len);
      r->words[i] = len | kRawBit;
      r->used += len;
    } else {
      r->words[i] = static_cast<uint32_t>(n);
      r->used += static_cast<size_t>(n);
    }
  }
}

}  // namespace

class BlockCompressor : public Napi::ObjectWrap<BlockCompressor> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "BlockCompressor",
                       {InstanceMethod("compress", &BlockCompressor::Compress),
                        InstanceMethod("compressFile", &BlockCompressor::CompressFile)});
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

  // compressFile(path, offset, length, blockSize, out, words) → bytes written to out. Maps the range and
  // compresses it block by block straight from the page cache: words[i] gets block i's size word (0 for an
  // all-zero block, left out of out; the raw bit for one stored as is). out must hold `length` bytes.
  Napi::Value CompressFile(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    if (info.Length() < 6 || !info[4].IsTypedArray() || !info[5].IsTypedArray())
      throw Napi::TypeError::New(
          env, "compressFile(path, offset, length, blockSize, out: Uint8Array, words: Uint32Array)");
    std::string path = RawPath(env, info[0]);
    auto offset = static_cast<uint64_t>(info[1].As<Napi::Number>().Int64Value());
    auto length = static_cast<size_t>(info[2].As<Napi::Number>().Int64Value());
    auto blockSize = static_cast<size_t>(info[3].As<Napi::Number>().Int64Value());
    auto out = info[4].As<Napi::Uint8Array>();
    auto words = info[5].As<Napi::Uint32Array>();
    if (blockSize == 0 || out.ByteLength() < length || words.ElementLength() * blockSize < length)
      throw Napi::RangeError::New(env, "compressFile: out or words too small for the range");
    MappedRange map(env, path, offset, length);
    BlockRun run{cmp_.get(), map.data(), length, blockSize, out.Data(), words.Data(), 0, 0};
    if (!RunGuarded(map.data(), length, CompressRun, &run)) throw ShrankError(env, path);
    if (run.error < 0) throw SqfsError(env, run.error, "compressing a block", path);
    return Napi::Number::New(env, static_cast<double>(run.used));
  }

  SqfsPtr<sqfs_compressor_t> cmp_;
};

void InitCompressor(Napi::Env env, Napi::Object exports) {
  exports.Set("BlockCompressor", BlockCompressor::Define(env));
}

}  // namespace airship
