// Block compressor for worker threads: one libsquashfs compressor per instance, called synchronously. A
// compression task's records (src/squashfs/protocol.ts) are read, cut into blocks and compressed here,
// whether their bytes are in files (directory source) or in buffers the task carries (tar source): this is
// the one implementation of the record and table protocol. The block cache stays in TypeScript and is asked
// through two functions per block.
#include <sqfs/compressor.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "addon.h"
#include "args.h"
#include "fs_util.h"
#include "layout.h"
#include "sqfs_util.h"

namespace airship {

namespace {

const char *const kItemNames[] = {"kind", "src", "offset", "length", "fileSize"};

// Bytes read per pread of a BLOCKS range: whole blocks, small enough to stay in cache until compressed.
size_t ChunkFor(size_t blockSize) { return blockSize * std::max<size_t>(1, (128u << 10) / blockSize); }

std::vector<std::string> SplitPaths(const std::string &joined) {
  std::vector<std::string> out;
  for (size_t start = 0; start < joined.size();) {
    size_t end = joined.find('\0', start);
    if (end == std::string::npos) end = joined.size();
    out.emplace_back(joined, start, end - start);
    start = end + 1;
  }
  return out;
}

struct Bytes {
  const uint8_t *data;
  size_t length;
};

// The block cache's two questions, as JS functions: lookup(block) → the stored body (a Uint8Array:
// compressed, or the block itself when stored raw) or undefined; store(block, body, raw) after a block was
// compressed.
struct CacheHooks {
  Napi::Function lookup;
  Napi::Function store;
  bool on = false;
};

// One compressTask call: the task's records, where their bytes come from, and where the results go.
class TaskRun {
 public:
  TaskRun(const Napi::CallbackInfo &info, const char *fn, sqfs_compressor_t *cmp, size_t blockSize)
      : env_(info.Env()), fn_(fn), cmp_(cmp), bs_(blockSize) {
    items_ = TypedArg<double>(env_, fn, "items", info[0]);
    paths_ = SplitPaths(RawBytes(env_, fn, "paths", info[1]));
    Napi::Array buffers = ArrayArg(env_, fn, "buffers", info[2]);
    // The array keeps the buffers alive for the call; nothing here hands them to other code that could detach
    // them.
    for (uint32_t i = 0; i < buffers.Length(); i++) {
      auto b = TypedArg<uint8_t>(env_, fn, "buffers[" + std::to_string(i) + "]", buffers.Get(i));
      buffers_.push_back({b.Data(), b.ByteLength()});
    }
    auto outArr = TypedArg<uint8_t>(env_, fn, "out", info[3]);
    auto tableArr = TypedArg<uint32_t>(env_, fn, "table", info[4]);
    out_ = outArr.Data();
    outCap_ = outArr.ByteLength();
    table_ = tableArr.Data();
    tableCap_ = tableArr.ElementLength();
    if (!info[5].IsUndefined()) {
      Napi::Object hooks = ObjectArg(env_, fn, "cache", info[5]);
      cache_.lookup = FunctionField(hooks, "lookup");
      cache_.store = FunctionField(hooks, "store");
      cache_.on = true;
    }
  }

  // Every record in order; a failure carries the index of the record it hit.
  void Run() {
    const size_t count = items_.ElementLength() / kItemSize;
    frag_.resize(bs_);
    chunk_.resize(ChunkFor(bs_));
    for (size_t r = 0; r < count; r++) {
      at_ = r;
      try {
        const size_t kind = Num(r, kItemKind);
        const size_t length = Num(r, kItemLength);
        const size_t nwords = kind == static_cast<size_t>(kBlocks) ? (length + bs_ - 1) / bs_ : 1;
        if (used_ + length > outCap_ || words_ + 2 + nwords > tableCap_)
          throw ArgRangeError(env_, fn_, "out or table", "too small for the task");
        uint32_t *rec = table_ + words_;
        rec[1] = static_cast<uint32_t>(nwords);
        const size_t before = used_;
        if (kind == static_cast<size_t>(kBlocks))
          Blocks(r, rec + 2, length);
        else if (kind == static_cast<size_t>(kFragment))
          r = Fragment(r, rec + 2, length, count);
        else
          throw ArgRangeError(env_, fn_, Record(r), "is a PART record outside a fragment");
        rec[0] = static_cast<uint32_t>(used_ - before);
        words_ += 2 + nwords;
      } catch (Napi::Error &e) {
        e.Set("record", Napi::Number::New(env_, static_cast<double>(at_)));
        throw;
      }
    }
  }

  Napi::Value Result() const {
    auto result = Napi::Array::New(env_, 3);
    result.Set(0u, Napi::Number::New(env_, static_cast<double>(used_)));
    result.Set(1u, Napi::Number::New(env_, static_cast<double>(words_)));
    result.Set(2u, Napi::Number::New(env_, static_cast<double>(compressed_)));
    return result;
  }

 private:
  Napi::Function FunctionField(const Napi::Object &o, const char *key) {
    Napi::Value v = o.Get(key);
    if (!v.IsFunction()) throw ArgTypeError(env_, fn_, std::string("cache.") + key, "a function", v);
    return v.As<Napi::Function>();
  }

  static std::string Record(size_t r) { return "record " + std::to_string(r); }

  // A record's field as a whole number in [0, 2^53]: a NaN, negative or fractional one would be undefined
  // behaviour as a size_t, and a huge one would wrap the bounds checks.
  size_t Num(size_t r, size_t field) const {
    const double d = items_[r * kItemSize + field];
    if (IsIntegerIn(d, 0, kMaxSafe)) return static_cast<size_t>(d);
    return static_cast<size_t>(IntegerIn(env_, fn_, Record(r) + " " + kItemNames[field], d, 0, kMaxSafe));
  }

  // A record's bytes in a task buffer (src = -1 - i), checked to lie inside it; null data for a file record.
  Bytes Carried(size_t r, size_t offset, size_t length) const {
    const double src = items_[r * kItemSize + kItemSrc];
    if (src >= 0) {
      if (IsIntegerIn(src, 0, static_cast<double>(paths_.size()) - 1)) return {nullptr, 0};
      throw ArgRangeError(env_, fn_, Record(r) + " src", "names no path");
    }
    const double i = -1 - src;
    if (!IsIntegerIn(i, 0, static_cast<double>(buffers_.size()) - 1))
      throw ArgRangeError(env_, fn_, Record(r) + " src", "names no buffer");
    const Bytes &b = buffers_[static_cast<size_t>(i)];
    if (offset > b.length || length > b.length - offset)
      throw ArgRangeError(env_, fn_, Record(r), "runs past its buffer");
    return {b.data + offset, length};
  }

  const std::string &PathOf(size_t r) const { return paths_[Num(r, kItemSrc)]; }

  // A BLOCKS record: a chunk at a time from its buffer or its file, block by block (all-zero blocks sparse).
  void Blocks(size_t r, uint32_t *words, size_t length) {
    const size_t offset = Num(r, kItemOffset);
    const Bytes carried = Carried(r, offset, length);
    Fd fd(carried.data ? -1 : OpenRead(env_, PathOf(r)));
    for (size_t pos = 0; pos < length; pos += chunk_.size()) {
      const size_t n = std::min(chunk_.size(), length - pos);
      const uint8_t *bytes = carried.data + pos;
      if (!carried.data) {
        ReadFully(env_, fd.get(), PathOf(r), chunk_.data(), n, offset + pos);
        bytes = chunk_.data();
      }
      for (size_t b = 0; b < n; b += bs_) *words++ = Block(bytes + b, std::min(bs_, n - b), true);
    }
  }

  // A FRAGMENT record and its PART records: the tails gathered and compressed as one block (never sparse).
  // Returns the index of its last part.
  size_t Fragment(size_t r, uint32_t *word, size_t length, size_t count) {
    const size_t parts = Num(r, kItemSrc);
    if (parts == 0 || length > bs_ || r + parts >= count)
      throw ArgRangeError(env_, fn_, Record(r), "is a bad fragment record");
    size_t fill = 0;
    for (size_t p = 0; p < parts; p++) {
      at_ = ++r;
      const size_t partLength = Num(r, kItemLength);
      const size_t offset = Num(r, kItemOffset);
      if (Num(r, kItemKind) != static_cast<size_t>(kPart) || fill + partLength > length)
        throw ArgRangeError(env_, fn_, Record(r), "is not a part that fits its fragment");
      const Bytes carried = Carried(r, offset, partLength);
      if (carried.data) {
        std::memcpy(frag_.data() + fill, carried.data, partLength);
      } else {
        Fd fd(OpenRead(env_, PathOf(r)));
        ReadFully(env_, fd.get(), PathOf(r), frag_.data() + fill, partLength, offset);
      }
      fill += partLength;
    }
    *word = Block(frag_.data(), fill, false);
    return r;
  }

  // One block into out: its size word (0: sparse; raw bit: stored as is).
  uint32_t Block(const uint8_t *src, size_t len, bool sparseOk) {
    if (sparseOk && AllZero(src, len)) return 0;
    uint8_t *dst = out_ + used_;
    Napi::Buffer<uint8_t> block;
    if (cache_.on) {
      block = Napi::Buffer<uint8_t>::Copy(env_, src, len);
      Napi::Value hit = cache_.lookup.Call({block});
      if (!hit.IsUndefined()) {
        auto body = TypedArg<uint8_t>(env_, fn_, "cache.lookup's result", hit);
        if (body.ByteLength() == 0 || body.ByteLength() > len)
          throw ArgRangeError(env_, fn_, "cache.lookup's result", "is not a block body");
        std::memcpy(dst, body.Data(), body.ByteLength());
        used_ += body.ByteLength();
        const auto n = static_cast<uint32_t>(body.ByteLength());
        return n == len ? n | kRawBit : n;
      }
    }
    sqfs_s32 n = cmp_->do_block(cmp_, src, static_cast<sqfs_u32>(len), dst, static_cast<sqfs_u32>(len));
    if (n < 0) throw SqfsError(env_, n, "compressing a block", "");
    compressed_++;
    const bool raw = n == 0 || static_cast<size_t>(n) >= len;
    if (raw) {
      std::memcpy(dst, src, len);
      n = static_cast<sqfs_s32>(len);
    }
    used_ += static_cast<size_t>(n);
    if (cache_.on)
      cache_.store.Call({block, Napi::Buffer<uint8_t>::Copy(env_, dst, static_cast<size_t>(n)),
                         Napi::Boolean::New(env_, raw)});
    return raw ? static_cast<uint32_t>(n) | kRawBit : static_cast<uint32_t>(n);
  }

  Napi::Env env_;
  const char *fn_;
  sqfs_compressor_t *cmp_;
  const size_t bs_;
  Napi::TypedArrayOf<double> items_;
  std::vector<std::string> paths_;
  std::vector<Bytes> buffers_;
  uint8_t *out_ = nullptr;
  size_t outCap_ = 0;
  uint32_t *table_ = nullptr;
  size_t tableCap_ = 0;
  CacheHooks cache_;
  size_t used_ = 0, words_ = 0, compressed_ = 0, at_ = 0;
  // Reused across calls on this thread: a fragment's tails and a chunk of file bytes.
  static thread_local std::vector<uint8_t> frag_, chunk_;
};

thread_local std::vector<uint8_t> TaskRun::frag_, TaskRun::chunk_;

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
    cmp_ = MakeCompressor(info.Env(), cfg, false, "creating compressor");
    block_size_ = cfg.block_size;
  }

 private:
  // compress(src, dst) → compressed length in dst, or 0 when the block does not shrink (store it raw).
  Napi::Value Compress(const Napi::CallbackInfo &info) {
    const char *fn = "BlockCompressor.compress";
    sqfs_s32 n = BlockCall(info, fn, cmp_.get());
    if (n < 0) throw SqfsError(info.Env(), n, "compressing a block", "");
    if (static_cast<size_t>(n) >= info[0].As<Napi::Uint8Array>().ByteLength()) n = 0;
    return Napi::Number::New(info.Env(), n);
  }

  // compressTask(items: Float64Array, paths, buffers: Uint8Array[], out: Uint8Array, table: Uint32Array,
  // cache?) → [body bytes, table words, blocks compressed]. A whole task in one call: BLOCKS records are read
  // a chunk at a time (from a file, or from the buffer their src names) and cut into blocks (all-zero ones
  // left out); a FRAGMENT record's PART records are gathered and compressed as one block. out gets the bodies
  // in record order; table gets, per record, its bytes, its word count and its words. paths: raw path bytes
  // as latin1, each ended by a NUL. A failure carries the index of the record it hit.
  Napi::Value CompressTask(const Napi::CallbackInfo &info) {
    TaskRun run(info, "BlockCompressor.compressTask", cmp_.get(), block_size_);
    run.Run();
    return run.Result();
  }

  SqfsPtr<sqfs_compressor_t> cmp_;
  size_t block_size_ = 0;
};

void InitCompressor(Napi::Env env, Napi::Object exports) {
  exports.Set("BlockCompressor", BlockCompressor::Define(env));
}

}  // namespace airship
