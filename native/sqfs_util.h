// Shared helpers for the libsquashfs bindings: owning pointers, error conversion, option parsing.
#pragma once
#include <napi.h>
#include <sqfs/compressor.h>
#include <sqfs/predef.h>

#include <cstdlib>
#include <memory>
#include <string>

namespace airship {

struct SqfsDestroy {
  void operator()(void *obj) const { sqfs_destroy(obj); }
};
template <typename T>
using SqfsPtr = std::unique_ptr<T, SqfsDestroy>;

// Inodes and similar plain allocations come from malloc inside libsquashfs.
struct SqfsFree {
  void operator()(void *p) const { sqfs_free(p); }
};
struct CFree {
  void operator()(void *p) const { std::free(p); }
};

// Name of a libsquashfs error code, e.g. SQFS_ERROR_IO.
const char *SqfsErrorName(int code);

// A JS Error whose message names the operation and path, with `code` and `sqfsCode` (libsquashfs' number).
// `code` is the libsquashfs name, or for SQFS_ERROR_IO with a `sysErr` the errno's name (ENOSPC, EACCES,
// ...).
Napi::Error SqfsError(Napi::Env env, int code, const std::string &what, const std::string &path,
                      int sysErr = 0);

// The compressors we offer, with libsquashfs' level ranges and defaults: the one table the addon checks
// levels against and exports (constants.cc), and that src/compressors.ts must match when the addon loads.
struct CompressorLimits {
  const char *name;
  SQFS_COMPRESSOR id;
  bool hasLevel;
  uint32_t minLevel, maxLevel, defaultLevel;
};
extern const CompressorLimits kCompressorTable[4];
// The table's row for a libsquashfs id, or null for one we do not offer.
const CompressorLimits *LimitsOf(int id);

// Reads {comp, level, blockSize, lz4Hc, xzExtreme, xzDictSize, gzipWindow} into a libsquashfs compressor
// configuration. A missing or wrong-typed field, an unknown compressor or a level out of range throws a
// TypeError or RangeError naming `fn` and the field.
sqfs_compressor_config_t CompressorConfigFrom(const Napi::Object &opts, const char *fn);

// The compressor set-up every binding shares: a block compressor for `cfg` (gzip through the system zlib), or
// with `uncompress` a decompressor. Throws an Error naming `what` when libsquashfs refuses.
SqfsPtr<sqfs_compressor_t> MakeCompressor(Napi::Env env, sqfs_compressor_config_t cfg, bool uncompress,
                                          const char *what);

// do_block of `cmp` from info[0] (src) into info[1] (dst), both checked Uint8Arrays of at most 2 GiB: the
// body of compress() and decompress(). Returns libsquashfs' result (negative: an error).
sqfs_s32 BlockCall(const Napi::CallbackInfo &info, const char *fn, sqfs_compressor_t *cmp);

// A compressor that hands configuration and options to `inner` (which it owns) and does blocks its own way.
// `base` comes first, so a sqfs_compressor_t* of one is a pointer to it.
struct ForwardingCompressor {
  sqfs_compressor_t base;
  sqfs_compressor_t *inner;
};
void ForwardTo(ForwardingCompressor *f, sqfs_compressor_t *inner, void (*destroy)(sqfs_object_t *),
               sqfs_s32 (*do_block)(sqfs_compressor_t *, const sqfs_u8 *, sqfs_u32, sqfs_u8 *, sqfs_u32));

// The system zlib that gzip blocks are made with, opened once per process (see system_zlib.cc).
struct SystemZlibInfo {
  bool ok;
  std::string soname;
  std::string path;     // the file the dynamic loader found
  std::string version;  // what its zlibVersion() says
  std::string error;    // why it could not be used, when !ok
};
const SystemZlibInfo &SystemZlibStatus();

// A block compressor for `cfg` (libsquashfs', with gzip blocks made by the system zlib); null and *err set
// when libsquashfs refuses the configuration or the system zlib refuses the gzip settings (never a silent
// fall back to another zlib: the image bytes would differ).
sqfs_compressor_t *CreateBlockCompressor(const sqfs_compressor_config_t &cfg, int *err);

// Wraps `inner` (taking ownership) so a block that does not shrink reports 0 and is stored raw. libsquashfs'
// lz4 returns a longer "compressed" block, which the kernel reads but unsquashfs rejects (e.g. a small id
// table).
sqfs_compressor_t *ShrinkOnly(sqfs_compressor_t *inner);

}  // namespace airship
