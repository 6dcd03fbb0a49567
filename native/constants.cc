// The numbers TypeScript mirrors, exported as `constants`: compressors with their ids, level ranges and
// defaults (libsquashfs' own), block size limits, and the layouts of the arrays that cross the boundary.
// src/squashfs/native.ts compares them with its tables when the addon loads and refuses a mismatch.
#include <sqfs/compressor.h>

#include <initializer_list>
#include <utility>

#include "addon.h"
#include "layout.h"
#include "sqfs_util.h"

namespace airship {

const CompressorLimits kCompressorTable[4] = {
    {"gzip", SQFS_COMP_GZIP, true, SQFS_GZIP_MIN_LEVEL, SQFS_GZIP_MAX_LEVEL, SQFS_GZIP_DEFAULT_LEVEL},
    {"xz", SQFS_COMP_XZ, true, SQFS_XZ_MIN_LEVEL, SQFS_XZ_MAX_LEVEL, SQFS_XZ_DEFAULT_LEVEL},
    {"lz4", SQFS_COMP_LZ4, false, 0, 0, 0},
    {"zstd", SQFS_COMP_ZSTD, true, SQFS_ZSTD_MIN_LEVEL, SQFS_ZSTD_MAX_LEVEL, SQFS_ZSTD_DEFAULT_LEVEL},
};

const CompressorLimits *LimitsOf(int id) {
  for (const CompressorLimits &c : kCompressorTable)
    if (c.id == id) return &c;
  return nullptr;
}

namespace {

Napi::Object Numbers(Napi::Env env, std::initializer_list<std::pair<const char *, double>> fields) {
  Napi::Object o = Napi::Object::New(env);
  for (const auto &[key, value] : fields) o.Set(key, Napi::Number::New(env, value));
  return o;
}

Napi::Object Compressors(Napi::Env env) {
  Napi::Object out = Napi::Object::New(env);
  for (const CompressorLimits &c : kCompressorTable) {
    Napi::Object row = Numbers(env, {{"id", c.id}});
    if (c.hasLevel) {
      row.Set("min", Napi::Number::New(env, c.minLevel));
      row.Set("max", Napi::Number::New(env, c.maxLevel));
      row.Set("default", Napi::Number::New(env, c.defaultLevel));
    }
    out.Set(c.name, row);
  }
  return out;
}

}  // namespace

void InitConstants(Napi::Env env, Napi::Object exports) {
  Napi::Object c = Napi::Object::New(env);
  c.Set("compressors", Compressors(env));
  c.Set("blockSize",
        Numbers(env, {{"min", kMinBlockSize}, {"max", kMaxBlockSize}, {"default", kDefaultBlockSize}}));
  c.Set("rawBit", Napi::Number::New(env, kRawBit));
  c.Set("item", Numbers(env, {{"kind", kItemKind},
                              {"src", kItemSrc},
                              {"offset", kItemOffset},
                              {"length", kItemLength},
                              {"fileSize", kItemFileSize},
                              {"size", kItemSize}}));
  c.Set("records", Numbers(env, {{"blocks", kBlocks}, {"fragment", kFragment}, {"part", kPart}}));
  c.Set("inode", Numbers(env, {{"mode", kMode},
                               {"uid", kUid},
                               {"gid", kGid},
                               {"mtime", kMtime},
                               {"ino", kIno},
                               {"nlink", kNlink},
                               {"xattr", kXattr},
                               {"size", kSize},
                               {"start", kStart},
                               {"fragIndex", kFragIndex},
                               {"fragOffset", kFragOffset},
                               {"sparse", kSparse},
                               {"devno", kDevno},
                               {"parent", kParent},
                               {"words", kFields}}));
  c.Set("scan", Numbers(env, {{"mode", kScanMode},
                              {"uid", kScanUid},
                              {"gid", kScanGid},
                              {"mtime", kScanMtime},
                              {"size", kScanSize},
                              {"nlink", kScanNlink},
                              {"dev", kScanDev},
                              {"ino", kScanIno},
                              {"rdevMajor", kScanRdevMajor},
                              {"rdevMinor", kScanRdevMinor},
                              {"words", kStatWords}}));
  exports.Set("constants", c);
}

}  // namespace airship
