// File reads for the compression workers: a range into a caller's buffer in one call (open, read, close), or
// the SHA-256 of whole files, a batch per call. Tens of thousands of small files make the per-call cost of
// three or four JS fs calls per file add up.
#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <string>
#include <vector>

#include "addon.h"
#include "fs_util.h"

namespace airship {

// readRange(path, offset, dst: Uint8Array): fills dst from the file at offset.
static Napi::Value ReadRange(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  std::string path = RawPath(env, info[0]);
  uint64_t offset = static_cast<uint64_t>(info[1].As<Napi::Number>().Int64Value());
  if (!info[2].IsTypedArray()) throw Napi::TypeError::New(env, "readRange(path, offset, dst: Uint8Array)");
  auto dst = info[2].As<Napi::Uint8Array>();
  Fd fd(OpenRead(env, path));
  ReadFully(env, fd.get(), path, dst.Data(), dst.ByteLength(), offset);
  return env.Undefined();
}

struct MdCtxFree {
  void operator()(EVP_MD_CTX *c) const { EVP_MD_CTX_free(c); }
};

// One digest context per thread, with SHA-256 fetched once: a fetch per file costs OpenSSL 3 a provider
// lookup under a lock.
static EVP_MD_CTX *Sha256Context(Napi::Env env) {
  thread_local std::unique_ptr<EVP_MD, decltype(&EVP_MD_free)> md(EVP_MD_fetch(nullptr, "SHA256", nullptr),
                                                                  &EVP_MD_free);
  thread_local std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  if (!md || !ctx || EVP_DigestInit_ex(ctx.get(), md.get(), nullptr) != 1)
    throw Napi::Error::New(env, "cannot start a SHA-256 digest");
  return ctx.get();
}

static void HashOne(Napi::Env env, const std::string &path, uint64_t size, uint8_t *digest) {
  thread_local std::vector<uint8_t> buf(1 << 20);
  EVP_MD_CTX *ctx = Sha256Context(env);
  Fd fd(OpenRead(env, path));
  for (uint64_t at = 0; at < size;) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(buf.size(), size - at));
    ReadFully(env, fd.get(), path, buf.data(), n, at);
    EVP_DigestUpdate(ctx, buf.data(), n);
    at += n;
  }
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx, digest, &len);
}

// hashFiles(paths, sizes: Float64Array, out: Uint8Array): SHA-256 of the first sizes[i] bytes of each file
// into out[32 i, 32 i + 32). paths: raw path bytes as latin1, each ended by a NUL. A failure carries the
// file's index (ESHRANK when it is shorter than its size).
static Napi::Value HashFiles(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[1].IsTypedArray() || !info[2].IsTypedArray())
    throw Napi::TypeError::New(env, "hashFiles(paths, sizes: Float64Array, out: Uint8Array)");
  std::string joined = RawPath(env, info[0]);
  auto sizes = info[1].As<Napi::Float64Array>();
  auto out = info[2].As<Napi::Uint8Array>();
  if (out.ByteLength() < sizes.ElementLength() * 32)
    throw Napi::RangeError::New(env, "hashFiles: out holds fewer than 32 bytes per file");
  size_t start = 0;
  for (size_t i = 0; i < sizes.ElementLength(); i++) {
    size_t end = joined.find('\0', start);
    if (end == std::string::npos) throw Napi::RangeError::New(env, "hashFiles: fewer paths than sizes");
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
