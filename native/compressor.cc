// Block compressor for worker threads: one libsquashfs compressor per instance, called synchronously.
#include <sqfs/compressor.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "addon.h"
#include "args.h"
#include "fs_util.h"
#include "sqfs_util.h"

namespace airship {

namespace {

// SquashFS marks a data block stored uncompressed with this bit of its size word.
constexpr uint32_t kRawBit = 1u << 24;

// A task's records, as src/squashfs/protocol.ts lays them out: ITEM fields and record kinds.
constexpr size_t kItemKind = 0, kItemSrc = 1, kItemOffset = 2, kItemLength = 3, kItemSize = 5;
constexpr double kBlocks = 0, kFragment = 1;
const char *const kItemNames[] = {"kind", "src", "offset", "length"};

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

// Bytes of one file range, cut into blocks and compressed into out; words gets each block's size word.
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

void CompressRun(BlockRun *r) {
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

// Bytes read per pread of a BLOCKS range: whole blocks, small enough to stay in cache until compressed.
size_t ChunkFor(size_t blockSize) { return blockSize * std::max<size_t>(1, (128u << 10) / blockSize); }

}  // namespace

class BlockCompressor : public Napi::ObjectWrap<BlockCompressor> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "BlockCompressor",
                       {InstanceMethod("compress", &BlockCompressor::Compress),
                        InstanceMethod("compressTask", &BlockCompressor::CompressTask)});
  }

  explicit BlockCompressor(const Napi::CallbackInfo &info) : Napi::ObjectWrap<BlockCompressor>(info) {
    const char *fn = "new BlockCompressor";
    sqfs_compressor_config_t cfg = CompressorConfigFrom(ObjectArg(info.Env(), fn, "options", info[0]), fn);
    int ret = 0;
    sqfs_compressor_t *raw = CreateBlockCompressor(cfg, &ret);
    if (ret != 0 || raw == nullptr) throw SqfsError(info.Env(), ret, "creating compressor", "");
    cmp_.reset(raw);
    block_size_ = cfg.block_size;
  }

 private:
  // compress(src, dst) → compressed length in dst, or 0 when the block does not shrink (store it raw).
  Napi::Value Compress(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    const char *fn = "BlockCompressor.compress";
    auto src = TypedArg<uint8_t>(env, fn, "src", info[0]);
    auto dst = TypedArg<uint8_t>(env, fn, "dst", info[1]);
    // The lengths go to libsquashfs as 32-bit counts and come back as a signed one.
    if (src.ByteLength() > INT32_MAX) throw ArgRangeError(env, fn, "src", "is over 2 GiB");
    if (dst.ByteLength() > INT32_MAX) throw ArgRangeError(env, fn, "dst", "is over 2 GiB");
    sqfs_s32 n = cmp_->do_block(cmp_.get(), src.Data(), static_cast<sqfs_u32>(src.ByteLength()), dst.Data(),
                                static_cast<sqfs_u32>(dst.ByteLength()));
    if (n < 0) throw SqfsError(env, n, "compressing a block", "");
    if (static_cast<size_t>(n) >= src.ByteLength()) n = 0;
    return Napi::Number::New(env, n);
  }

  // compressTask(items: Float64Array, paths, out: Uint8Array, table: Uint32Array) → [body bytes, table words,
  // blocks compressed]. A whole task of file-backed records in one call: BLOCKS records are read a chunk at a
  // time and cut into blocks (all-zero ones left out); a FRAGMENT record's PART records are read and
  // compressed as one block (never sparse). out gets the bodies in record order; table gets, per record, its
  // bytes, its word count and its words. paths: raw path bytes as latin1, each ended by a NUL. A failure
  // carries the index of the record it hit.
  Napi::Value CompressTask(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    const char *fn = "BlockCompressor.compressTask";
    auto items = TypedArg<double>(env, fn, "items", info[0]);
    std::vector<std::string> paths = SplitPaths(RawBytes(env, fn, "paths", info[1]));
    auto outArr = TypedArg<uint8_t>(env, fn, "out", info[2]);
    auto tableArr = TypedArg<uint32_t>(env, fn, "table", info[3]);
    uint8_t *out = outArr.Data();
    uint32_t *table = tableArr.Data();
    const size_t outCap = outArr.ByteLength(), tableCap = tableArr.ElementLength();
    const size_t bs = block_size_;
    size_t used = 0, words = 0, compressed = 0;
    const size_t count = items.ElementLength() / kItemSize;
    // A record's field as a whole number in [0, 2^53]: a NaN, negative or fractional one would be undefined
    // behaviour as a size_t, and a huge one would wrap the bounds checks below.
    auto num = [&](size_t r, size_t field) -> size_t {
      const double d = items[r * kItemSize + field];
      if (IsIntegerIn(d, 0, kMaxSafe)) return static_cast<size_t>(d);
      return static_cast<size_t>(
          IntegerIn(env, fn, "record " + std::to_string(r) + " " + kItemNames[field], d, 0, kMaxSafe));
    };
    auto pathOf = [&](size_t r) -> const std::string & {
      size_t src = num(r, kItemSrc);
      if (src >= paths.size())
        throw ArgRangeError(env, fn, "record " + std::to_string(r) + " src", "names no path");
      return paths[src];
    };
    thread_local std::vector<uint8_t> frag;
    thread_local std::vector<uint8_t> chunkBuf;
    const size_t chunk = ChunkFor(bs);
    chunkBuf.resize(chunk);
    for (size_t r = 0; r < count; r++) {
      size_t at = r;
      try {
        const auto kind = static_cast<double>(num(r, kItemKind));
        const size_t length = num(r, kItemLength);
        const size_t nwords = kind == kBlocks ? (length + bs - 1) / bs : 1;
        if (used + length > outCap || words + 2 + nwords > tableCap)
          throw ArgRangeError(env, fn, "out or table", "too small for the task");
        uint32_t *rec = table + words;
        rec[1] = static_cast<uint32_t>(nwords);
        if (kind == kBlocks) {
          const std::string &path = pathOf(r);
          Fd fd(OpenRead(env, path));
          const uint64_t offset = num(r, kItemOffset);
          size_t runUsed = 0;
          for (size_t pos = 0; pos < length; pos += chunk) {
            const size_t n = std::min(chunk, length - pos);
            ReadFully(env, fd.get(), path, chunkBuf.data(), n, offset + pos);
            BlockRun run{cmp_.get(), chunkBuf.data(), n, bs, out + used + runUsed, rec + 2 + pos / bs, 0, 0};
            CompressRun(&run);
            if (run.error < 0) throw SqfsError(env, run.error, "compressing a block", path);
            runUsed += run.used;
          }
          for (size_t i = 0; i < nwords; i++) compressed += rec[2 + i] != 0;
          rec[0] = static_cast<uint32_t>(runUsed);
          used += runUsed;
        } else if (kind == kFragment) {
          const size_t parts = num(r, kItemSrc);
          if (parts == 0 || length > bs || r + parts >= count)
            throw ArgRangeError(env, fn, "record " + std::to_string(r), "is a bad fragment record");
          frag.resize(bs);
          size_t fill = 0;
          for (size_t p = 0; p < parts; p++) {
            at = ++r;
            const size_t partLength = num(r, kItemLength);
            if (fill + partLength > length)
              throw ArgRangeError(env, fn, "record " + std::to_string(r), "overflows its fragment");
            const std::string &path = pathOf(r);
            Fd fd(OpenRead(env, path));
            ReadFully(env, fd.get(), path, frag.data() + fill, partLength, num(r, kItemOffset));
            fill += partLength;
          }
          at = r;
          sqfs_s32 n = cmp_->do_block(cmp_.get(), frag.data(), static_cast<sqfs_u32>(fill), out + used,
                                      static_cast<sqfs_u32>(fill));
          if (n < 0) throw SqfsError(env, n, "compressing a fragment block", "");
          compressed++;
          if (n == 0 || static_cast<size_t>(n) >= fill) {
            std::memcpy(out + used, frag.data(), fill);
            rec[2] = static_cast<uint32_t>(fill) | kRawBit;
            n = static_cast<sqfs_s32>(fill);
          } else {
            rec[2] = static_cast<uint32_t>(n);
          }
          rec[0] = static_cast<uint32_t>(n);
          used += static_cast<size_t>(n);
        } else {
          throw ArgRangeError(env, fn, "record " + std::to_string(r), "is a PART record outside a fragment");
        }
        words += 2 + nwords;
      } catch (Napi::Error &e) {
        e.Set("record", Napi::Number::New(env, static_cast<double>(at)));
        throw;
      }
    }
    auto result = Napi::Array::New(env, 3);
    result.Set(0u, Napi::Number::New(env, static_cast<double>(used)));
    result.Set(1u, Napi::Number::New(env, static_cast<double>(words)));
    result.Set(2u, Napi::Number::New(env, static_cast<double>(compressed)));
    return result;
  }

  static std::vector<std::string> SplitPaths(const std::string &joined) {
    std::vector<std::string> out;
    for (size_t start = 0; start < joined.size();) {
      size_t end = joined.find('\0', start);
      if (end == std::string::npos) end = joined.size();
      out.emplace_back(joined, start, end - start);
      start = end + 1;
    }
    return out;
  }

  SqfsPtr<sqfs_compressor_t> cmp_;
  size_t block_size_ = 0;
};

void InitCompressor(Napi::Env env, Napi::Object exports) {
  exports.Set("BlockCompressor", BlockCompressor::Define(env));
}

}  // namespace airship
