// File reads for the compression workers: a range into a caller's buffer, or a whole file's SHA-256, each in
// one call (open, read, close). Tens of thousands of small files make the per-call cost of three or four
// JS fs calls per file add up.
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

static int OpenRead(Napi::Env env, const std::string &path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) throw ErrnoError(env, "open", path, errno);
  return fd;
}

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

// hashFile(path, size) → SHA-256 of the first `size` bytes (Buffer of 32); ESHRANK when the file is shorter.
static Napi::Value HashFile(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  std::string path = RawPath(env, info[0]);
  uint64_t size = static_cast<uint64_t>(info[1].As<Napi::Number>().Int64Value());
  thread_local std::vector<uint8_t> buf(1 << 20);
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1)
    throw Napi::Error::New(env, "cannot start a SHA-256 digest");
  Fd fd(OpenRead(env, path));
  for (uint64_t at = 0; at < size;) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(buf.size(), size - at));
    ReadFully(env, fd.get(), path, buf.data(), n, at);
    EVP_DigestUpdate(ctx.get(), buf.data(), n);
    at += n;
  }
  auto out = Napi::Buffer<uint8_t>::New(env, 32);
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx.get(), out.Data(), &len);
  return out;
}

void InitFileIo(Napi::Env env, Napi::Object exports) {
  exports.Set("readRange", Napi::Function::New(env, ReadRange));
  exports.Set("hashFile", Napi::Function::New(env, HashFile));
}

}  // namespace airship
