// File reads for the compression workers: a range into a caller's buffer in one call (open, read, close), or
// the SHA-256 of whole files, a batch per call. Tens of thousands of small files make the per-call cost of
// three or four JS fs calls per file add up.
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <string>
#include <vector>

#include "addon.h"
#include "args.h"
#include "fs_util.h"

namespace airship {

// readRange(path, offset, dst: Uint8Array): fills dst from the file at offset.
static Napi::Value ReadRange(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  const char *fn = "readRange";
  std::string path = RawPath(env, fn, "path", info[0]);
  uint64_t offset = SizeArg(env, fn, "offset", info[1]);
  auto dst = TypedArg<uint8_t>(env, fn, "dst", info[2]);
  Fd fd(OpenRead(env, path));
  ReadFully(env, fd.get(), path, dst.Data(), dst.ByteLength(), offset);
  return env.Undefined();
}

struct MdCtxFree {
  void operator()(EVP_MD_CTX *c) const { EVP_MD_CTX_free(c); }
};

// An OpenSSL call that failed, with OpenSSL's own reason (its error queue, emptied so the next call starts
// clean): code ERR_OPENSSL.
static Napi::Error OpenSslError(Napi::Env env, const std::string &what, const std::string &path) {
  char reason[256] = "no reason given";
  unsigned long e = ERR_get_error();
  if (e != 0) ERR_error_string_n(e, reason, sizeof reason);
  ERR_clear_error();
  Napi::Error err = Napi::Error::New(env, "SHA-256 of " + path + ": " + what + " failed (" + reason + ")");
  err.Set("code", Napi::String::New(env, "ERR_OPENSSL"));
  err.Set("path", Napi::String::New(env, path));
  return err;
}

// One digest context per thread, with SHA-256 fetched once: a fetch per file costs OpenSSL 3 a provider
// lookup under a lock.
static EVP_MD_CTX *Sha256Context(Napi::Env env, const std::string &path) {
  thread_local std::unique_ptr<EVP_MD, decltype(&EVP_MD_free)> md(EVP_MD_fetch(nullptr, "SHA256", nullptr),
                                                                  &EVP_MD_free);
  thread_local std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  if (!md) throw OpenSslError(env, "EVP_MD_fetch", path);
  if (!ctx) throw OpenSslError(env, "EVP_MD_CTX_new", path);
  if (EVP_DigestInit_ex(ctx.get(), md.get(), nullptr) != 1)
    throw OpenSslError(env, "EVP_DigestInit_ex", path);
  return ctx.get();
}

static void HashOne(Napi::Env env, const std::string &path, uint64_t size, uint8_t *digest) {
  thread_local std::vector<uint8_t> buf(1 << 20);
  EVP_MD_CTX *ctx = Sha256Context(env, path);
  Fd fd(OpenRead(env, path));
  for (uint64_t at = 0; at < size;) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(buf.size(), size - at));
    ReadFully(env, fd.get(), path, buf.data(), n, at);
    if (EVP_DigestUpdate(ctx, buf.data(), n) != 1) throw OpenSslError(env, "EVP_DigestUpdate", path);
    at += n;
  }
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx, digest, &len) != 1) throw OpenSslError(env, "EVP_DigestFinal_ex", path);
  if (len != 32) throw OpenSslError(env, "a 32-byte digest", path);
}

// hashFiles(paths, sizes: Float64Array, out: Uint8Array): SHA-256 of the first sizes[i] bytes of each file
// into out[32 i, 32 i + 32). paths: raw path bytes as latin1, each ended by a NUL. A failure carries the
// file's index (ESHRANK when it is shorter than its size).
static Napi::Value HashFiles(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  const char *fn = "hashFiles";
  std::string joined = RawBytes(env, fn, "paths", info[0]);
  auto sizes = TypedArg<double>(env, fn, "sizes", info[1]);
  auto out = TypedArg<uint8_t>(env, fn, "out", info[2]);
  if (out.ByteLength() / 32 < sizes.ElementLength())
    throw ArgRangeError(env, fn, "out", "holds fewer than 32 bytes per file");
  for (size_t i = 0; i < sizes.ElementLength(); i++)
    if (!IsIntegerIn(sizes[i], 0, kMaxSafe))
      IntegerIn(env, fn, "sizes[" + std::to_string(i) + "]", sizes[i], 0, kMaxSafe);
  size_t start = 0;
  for (size_t i = 0; i < sizes.ElementLength(); i++) {
    size_t end = joined.find('\0', start);
    if (end == std::string::npos) throw ArgRangeError(env, fn, "paths", "holds fewer paths than sizes");
    std::string path = joined.substr(start, end - start);
    start = end + 1;
    try {
      HashOne(env, path, static_cast<uint64_t>(sizes[i]), out.Data() + 32 * i);
    } catch (Napi::Error &e) {
      e.Set("index", Napi::Number::New(env, static_cast<double>(i)));
      throw;
    }
  }
  return env.Undefined();
}

void InitFileIo(Napi::Env env, Napi::Object exports) {
  exports.Set("readRange", Napi::Function::New(env, ReadRange));
  exports.Set("hashFiles", Napi::Function::New(env, HashFiles));
}

}  // namespace airship
