#include "sqfs_util.h"

#include <sqfs/error.h>

#include <cstring>

#include "args.h"
#include "fs_util.h"
#include "layout.h"

namespace airship {

const char *SqfsErrorName(int code) {
  switch (code) {
    case SQFS_ERROR_ALLOC:
      return "SQFS_ERROR_ALLOC";
    case SQFS_ERROR_IO:
      return "SQFS_ERROR_IO";
    case SQFS_ERROR_COMPRESSOR:
      return "SQFS_ERROR_COMPRESSOR";
    case SQFS_ERROR_INTERNAL:
      return "SQFS_ERROR_INTERNAL";
    case SQFS_ERROR_CORRUPTED:
      return "SQFS_ERROR_CORRUPTED";
    case SQFS_ERROR_UNSUPPORTED:
      return "SQFS_ERROR_UNSUPPORTED";
    case SQFS_ERROR_OVERFLOW:
      return "SQFS_ERROR_OVERFLOW";
    case SQFS_ERROR_OUT_OF_BOUNDS:
      return "SQFS_ERROR_OUT_OF_BOUNDS";
    case SQFS_ERROR_SUPER_BLOCK_SIZE:
      return "SQFS_ERROR_SUPER_BLOCK_SIZE";
    case SQFS_ERROR_ARG_INVALID:
      return "SQFS_ERROR_ARG_INVALID";
    case SQFS_ERROR_SEQUENCE:
      return "SQFS_ERROR_SEQUENCE";
    default:
      return "SQFS_ERROR";
  }
}

Napi::Error SqfsError(Napi::Env env, int code, const std::string &what, const std::string &path, int sysErr) {
  // libsquashfs reports every failed read or write as SQFS_ERROR_IO; the errno behind it is what a person can
  // act on (ENOSPC: free space; EACCES: permissions), so it becomes the code when there is one.
  const bool io = code == SQFS_ERROR_IO && sysErr != 0;
  const char *name = io ? ErrnoName(sysErr) : SqfsErrorName(code);
  std::string msg = what + " failed (" + name;
  if (io) msg += std::string(": ") + std::strerror(sysErr);
  msg += ")";
  if (!path.empty()) msg += ": " + path;
  Napi::Error err = Napi::Error::New(env, msg);
  err.Set("code", Napi::String::New(env, name));
  err.Set("sqfsCode", Napi::Number::New(env, code));
  if (io) err.Set("errno", Napi::Number::New(env, sysErr));
  if (!path.empty()) err.Set("path", Napi::String::New(env, path));
  return err;
}

sqfs_compressor_config_t CompressorConfigFrom(const Napi::Object &opts, const char *fn) {
  Napi::Env env = opts.Env();
  std::string name = StringArg(env, fn, "options.comp", opts.Get("comp"));
  int id = sqfs_compressor_id_from_name(name.c_str());
  if (id < 0) {
    Napi::TypeError e = Napi::TypeError::New(
        env, std::string(fn) + ": options.comp names no compressor libsquashfs knows: " + name);
    e.Set("code", Napi::String::New(env, "ERR_INVALID_ARG_VALUE"));
    throw e;
  }
  // SquashFS block sizes are powers of two from 4 KiB to 1 MiB; libsquashfs checks the power of two.
  uint32_t blockSize = OptU32(opts, fn, "blockSize", kDefaultBlockSize, kMinBlockSize, kMaxBlockSize);
  uint16_t flags = 0;
  if (OptBool(opts, fn, "lz4Hc") && id == SQFS_COMP_LZ4) flags |= SQFS_COMP_FLAG_LZ4_HC;
  if (OptBool(opts, fn, "xzExtreme") && id == SQFS_COMP_XZ) flags |= SQFS_COMP_FLAG_XZ_EXTREME;
  sqfs_compressor_config_t cfg;
  int ret = sqfs_compressor_config_init(&cfg, static_cast<SQFS_COMPRESSOR>(id), blockSize, flags);
  if (ret != 0) throw SqfsError(env, ret, "compressor configuration " + name, "");
  Napi::Value level = opts.Get("level");
  const CompressorLimits *limits = LimitsOf(id);
  if (limits == nullptr)
    throw ArgRangeError(env, fn, "options.comp", "names a compressor we do not offer: " + name);
  if (!level.IsUndefined()) {
    uint32_t l = U32Arg(env, fn, "options.level", level);
    if (!limits->hasLevel)
      throw ArgRangeError(env, fn, "options.level", "is given, but " + name + " takes none");
    if (l < limits->minLevel || l > limits->maxLevel)
      throw ArgRangeError(env, fn, "options.level",
                          "must be " + std::to_string(limits->minLevel) + "-" +
                              std::to_string(limits->maxLevel) + " for " + name);
    cfg.level = l;
  }
  if (id == SQFS_COMP_XZ) cfg.opt.xz.dict_size = OptU32(opts, fn, "xzDictSize", cfg.opt.xz.dict_size);
  if (id == SQFS_COMP_GZIP)
    cfg.opt.gzip.window_size =
        OptU32(opts, fn, "gzipWindow", cfg.opt.gzip.window_size, SQFS_GZIP_MIN_WINDOW, SQFS_GZIP_MAX_WINDOW);
  return cfg;
}

SqfsPtr<sqfs_compressor_t> MakeCompressor(Napi::Env env, sqfs_compressor_config_t cfg, bool uncompress,
                                          const char *what) {
  int ret = 0;
  sqfs_compressor_t *raw = nullptr;
  if (uncompress) {
    cfg.flags |= SQFS_COMP_FLAG_UNCOMPRESS;
    ret = sqfs_compressor_create(&cfg, &raw);
  } else {
    raw = CreateBlockCompressor(cfg, &ret);
  }
  if (ret != 0 || raw == nullptr) throw SqfsError(env, ret != 0 ? ret : SQFS_ERROR_INTERNAL, what, "");
  return SqfsPtr<sqfs_compressor_t>(raw);
}

sqfs_s32 BlockCall(const Napi::CallbackInfo &info, const char *fn, sqfs_compressor_t *cmp) {
  Napi::Env env = info.Env();
  auto src = TypedArg<uint8_t>(env, fn, "src", info[0]);
  auto dst = TypedArg<uint8_t>(env, fn, "dst", info[1]);
  // The lengths go to libsquashfs as 32-bit counts and come back as a signed one.
  if (src.ByteLength() > INT32_MAX) throw ArgRangeError(env, fn, "src", "is over 2 GiB");
  if (dst.ByteLength() > INT32_MAX) throw ArgRangeError(env, fn, "dst", "is over 2 GiB");
  return cmp->do_block(cmp, src.Data(), static_cast<sqfs_u32>(src.ByteLength()), dst.Data(),
                       static_cast<sqfs_u32>(dst.ByteLength()));
}

namespace {

sqfs_compressor_t *Inner(const sqfs_compressor_t *cmp) {
  return reinterpret_cast<const ForwardingCompressor *>(cmp)->inner;
}

void ForwardConfig(const sqfs_compressor_t *cmp, sqfs_compressor_config_t *cfg) {
  Inner(cmp)->get_configuration(Inner(cmp), cfg);
}

int ForwardWriteOptions(sqfs_compressor_t *cmp, sqfs_file_t *file) {
  return Inner(cmp)->write_options(Inner(cmp), file);
}

int ForwardReadOptions(sqfs_compressor_t *cmp, sqfs_file_t *file) {
  return Inner(cmp)->read_options(Inner(cmp), file);
}

void ShrinkOnlyDestroy(sqfs_object_t *obj) {
  auto *self = reinterpret_cast<ForwardingCompressor *>(obj);
  sqfs_destroy(self->inner);
  delete self;
}

sqfs_s32 ShrinkOnlyBlock(sqfs_compressor_t *cmp, const sqfs_u8 *in, sqfs_u32 size, sqfs_u8 *out,
                         sqfs_u32 outsize) {
  sqfs_s32 n = Inner(cmp)->do_block(Inner(cmp), in, size, out, outsize);
  return (n > 0 && static_cast<sqfs_u32>(n) >= size) ? 0 : n;
}

}  // namespace

void ForwardTo(ForwardingCompressor *f, sqfs_compressor_t *inner, void (*destroy)(sqfs_object_t *),
               sqfs_s32 (*do_block)(sqfs_compressor_t *, const sqfs_u8 *, sqfs_u32, sqfs_u8 *, sqfs_u32)) {
  f->base.base.destroy = destroy;
  f->base.base.copy = nullptr;
  f->base.get_configuration = ForwardConfig;
  f->base.write_options = ForwardWriteOptions;
  f->base.read_options = ForwardReadOptions;
  f->base.do_block = do_block;
  f->inner = inner;
}

sqfs_compressor_t *ShrinkOnly(sqfs_compressor_t *inner) {
  auto *self = new ForwardingCompressor{};
  ForwardTo(self, inner, ShrinkOnlyDestroy, ShrinkOnlyBlock);
  return &self->base;
}

}  // namespace airship
