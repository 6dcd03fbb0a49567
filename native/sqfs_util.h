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

// A JS Error whose message names the operation and path, with `code` (libsquashfs name) and `sqfsCode`
// (number).
Napi::Error SqfsError(Napi::Env env, int code, const std::string &what, const std::string &path);

// Reads {comp, level, blockSize, lz4Hc, xzDictSize, gzipWindow} into a libsquashfs compressor configuration.
// Throws a TypeError for an unknown compressor or a level out of range.
sqfs_compressor_config_t CompressorConfigFrom(const Napi::Object &opts);

// A compressor that hands configuration and options to `inner` (which it owns) and does blocks its own way.
// `base` comes first, so a sqfs_compressor_t* of one is a pointer to it.
struct ForwardingCompressor {
  sqfs_compressor_t base;
  sqfs_compressor_t *inner;
};
void ForwardTo(ForwardingCompressor *f, sqfs_compressor_t *inner, void (*destroy)(sqfs_object_t *),
               sqfs_s32 (*do_block)(sqfs_compressor_t *, const sqfs_u8 *, sqfs_u32, sqfs_u8 *, sqfs_u32));

// A block compressor for `cfg` (libsquashfs', with gzip blocks made by the system zlib); null and *err set
// when libsquashfs refuses the configuration.
sqfs_compressor_t *CreateBlockCompressor(const sqfs_compressor_config_t &cfg, int *err);

// Wraps `inner` (taking ownership) so a block that does not shrink reports 0 and is stored raw. libsquashfs'
// lz4 returns a longer "compressed" block, which the kernel reads but unsquashfs rejects (e.g. a small id
// table).
sqfs_compressor_t *ShrinkOnly(sqfs_compressor_t *inner);

}  // namespace airship
