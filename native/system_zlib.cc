// gzip blocks through the system's zlib. Node carries its own zlib (Chromium's) and exports it, so
// libsquashfs, loaded into Node, binds to that one; at level 9 its output is about 1.4% larger on a Debian
// root than what mksquashfs and gensquashfs write with the system zlib. The system library is opened
// privately and called through its own symbols; everything but the block compression (options, configuration)
// stays libsquashfs'.
#include <dlfcn.h>
#include <link.h>
#include <sqfs/error.h>
#include <zlib.h>

#include <mutex>
#include <string>

#include "sqfs_util.h"

namespace airship {

namespace {

constexpr const char *kSoname = "libz.so.1";

struct ZlibApi {
  int (*init)(z_streamp, int, int, int, int, int, const char *, int);
  int (*deflate)(z_streamp, int);
  int (*reset)(z_streamp);
  int (*end)(z_streamp);
};

struct Loaded {
  ZlibApi api{};
  SystemZlibInfo info{false, kSoname, "", "", ""};
};

const Loaded &Load() {
  static Loaded l;
  static std::once_flag once;
  std::call_once(once, [] {
    // A namespace of its own: zlib calls its own exported functions (deflateReset, …), which in the main
    // namespace would bind to Node's copy, whose state layout differs.
    void *h = dlmopen(LM_ID_NEWLM, kSoname, RTLD_NOW | RTLD_LOCAL);
    if (h == nullptr) {
      const char *why = dlerror();
      l.info.error = why != nullptr ? why : "dlmopen failed";
      return;
    }
    l.api.init = reinterpret_cast<decltype(l.api.init)>(dlsym(h, "deflateInit2_"));
    l.api.deflate = reinterpret_cast<decltype(l.api.deflate)>(dlsym(h, "deflate"));
    l.api.reset = reinterpret_cast<decltype(l.api.reset)>(dlsym(h, "deflateReset"));
    l.api.end = reinterpret_cast<decltype(l.api.end)>(dlsym(h, "deflateEnd"));
    auto version = reinterpret_cast<const char *(*)()>(dlsym(h, "zlibVersion"));
    if (!l.api.init || !l.api.deflate || !l.api.reset || !l.api.end || !version) {
      l.info.error = std::string(kSoname) + " lacks the deflate functions";
      return;
    }
    l.info.version = version();
    link_map *map = nullptr;
    if (dlinfo(h, RTLD_DI_LINKMAP, &map) == 0 && map != nullptr && map->l_name != nullptr)
      l.info.path = map->l_name;
    l.info.ok = true;
  });
  return l;
}

}  // namespace

const SystemZlibInfo &SystemZlibStatus() { return Load().info; }

namespace {

struct SystemGzip {
  ForwardingCompressor fwd;
  const ZlibApi *z;
  z_stream strm;
};

SystemGzip *Self(const sqfs_compressor_t *cmp) {
  return reinterpret_cast<SystemGzip *>(const_cast<sqfs_compressor_t *>(cmp));
}

void Destroy(sqfs_object_t *obj) {
  SystemGzip *self = Self(reinterpret_cast<sqfs_compressor_t *>(obj));
  self->z->end(&self->strm);
  sqfs_destroy(self->fwd.inner);
  delete self;
}

// A zlib stream, as SquashFS' gzip blocks are; 0 when it does not fit in `outsize` (stored raw).
sqfs_s32 Block(sqfs_compressor_t *cmp, const sqfs_u8 *in, sqfs_u32 size, sqfs_u8 *out, sqfs_u32 outsize) {
  SystemGzip *self = Self(cmp);
  if (self->z->reset(&self->strm) != Z_OK) return SQFS_ERROR_COMPRESSOR;
  self->strm.next_in = const_cast<Bytef *>(in);
  self->strm.avail_in = size;
  self->strm.next_out = out;
  self->strm.avail_out = outsize;
  int ret = self->z->deflate(&self->strm, Z_FINISH);
  if (ret == Z_OK || ret == Z_BUF_ERROR) return 0;
  if (ret != Z_STREAM_END) return SQFS_ERROR_COMPRESSOR;
  return static_cast<sqfs_s32>(self->strm.total_out);
}

}  // namespace

sqfs_compressor_t *CreateBlockCompressor(const sqfs_compressor_config_t &cfg, int *err) {
  sqfs_compressor_t *inner = nullptr;
  *err = sqfs_compressor_create(&cfg, &inner);
  if (*err != 0 || inner == nullptr || cfg.id != SQFS_COMP_GZIP) return inner;
  const Loaded &l = Load();
  // The addon refuses to load without it (InitInfo); this guards a caller that got here anyway.
  if (!l.info.ok) {
    sqfs_destroy(inner);
    *err = SQFS_ERROR_UNSUPPORTED;
    return nullptr;
  }
  const ZlibApi *z = &l.api;
  auto *self = new SystemGzip{};
  int window = cfg.opt.gzip.window_size ? cfg.opt.gzip.window_size : 15;
  if (z->init(&self->strm, static_cast<int>(cfg.level), Z_DEFLATED, window, 8, Z_DEFAULT_STRATEGY,
              ZLIB_VERSION, static_cast<int>(sizeof(z_stream))) != Z_OK) {
    delete self;
    sqfs_destroy(inner);
    *err = SQFS_ERROR_COMPRESSOR;
    return nullptr;
  }
  ForwardTo(&self->fwd, inner, Destroy, Block);
  self->z = z;
  return &self->fwd.base;
}

}  // namespace airship
