// Copies a partition image's data extents into the raw disk at the partition's offset, in the kernel
// (copy_file_range; pread/pwrite where it cannot), on the libuv thread pool. Holes are never read, so the
// disk stays sparse and a mostly empty file system costs only its data.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <vector>

#include "addon.h"
#include "fs_util.h"

namespace airship {

namespace {

class CopyExtents : public Napi::AsyncWorker {
 public:
  CopyExtents(Napi::Env env, std::string src, std::string dst, off_t offset)
      : Napi::AsyncWorker(env),
        deferred_(Napi::Promise::Deferred::New(env)),
        src_(std::move(src)),
        dst_(std::move(dst)),
        offset_(offset) {}

  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    int in = open(src_.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (in < 0) {
      Fail("open", src_);
      return;
    }
    Fd inFd(in);
    int out = open(dst_.c_str(), O_WRONLY | O_CLOEXEC | O_NOCTTY);
    if (out < 0) {
      Fail("open", dst_);
      return;
    }
    Fd outFd(out);
    struct stat st {};
    if (fstat(in, &st) != 0) {
      Fail("stat", src_);
      return;
    }
    for (off_t at = 0; at < st.st_size;) {
      off_t data = lseek(in, at, SEEK_DATA);
      if (data < 0 && errno == ENXIO) break;
      off_t hole = data < 0 ? -1 : lseek(in, data, SEEK_HOLE);
      if (data < 0 || hole < 0) {
        Fail("lseek", src_);
        return;
      }
      if (!Copy(in, out, data, hole - data)) return;
      at = hole;
    }
  }

  void OnOK() override { deferred_.Resolve(Napi::Number::New(Env(), static_cast<double>(copied_))); }

  void OnError(const Napi::Error &) override {
    deferred_.Reject(ErrnoError(Env(), call_, path_, errno_).Value());
  }

 private:
  bool Copy(int in, int out, off_t from, off_t length) {
    off_t inOff = from;
    off_t outOff = offset_ + from;
    while (length > 0) {
      ssize_t n = copy_file_range(in, &inOff, out, &outOff, static_cast<size_t>(length), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP))
        return CopyByHand(in, out, inOff, outOff, length);
      if (n < 0) return Fail("copy_file_range", dst_);
      if (n == 0) return Fail("read", src_, EIO);
      length -= n;
      copied_ += static_cast<uint64_t>(n);
    }
    return true;
  }

  bool CopyByHand(int in, int out, off_t inOff, off_t outOff, off_t length) {
    std::vector<uint8_t> buf(1 << 20);
    while (length > 0) {
      size_t want = static_cast<size_t>(std::min<off_t>(length, static_cast<off_t>(buf.size())));
      ssize_t n = pread(in, buf.data(), want, inOff);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return Fail("read", src_, n == 0 ? EIO : errno);
      for (ssize_t done = 0; done < n;) {
        ssize_t w = pwrite(out, buf.data() + done, static_cast<size_t>(n - done), outOff + done);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return Fail("write", dst_);
        done += w;
      }
      inOff += n;
      outOff += n;
      length -= n;
      copied_ += static_cast<uint64_t>(n);
    }
    return true;
  }

  bool Fail(const char *call, const std::string &path, int err = 0) {
    call_ = call;
    path_ = path;
    errno_ = err ? err : errno;
    SetError(call);
    return false;
  }

  Napi::Promise::Deferred deferred_;
  std::string src_;
  std::string dst_;
  off_t offset_;
  uint64_t copied_ = 0;
  const char *call_ = "";
  std::string path_;
  int errno_ = 0;
};

// qcow2CopyExtents(src, dst, offset): Promise of the bytes copied.
Napi::Value CopyExtentsInto(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  auto offset = static_cast<off_t>(info[2].As<Napi::Number>().Int64Value());
  if (offset < 0) throw Napi::RangeError::New(env, "qcow2CopyExtents: negative offset");
  auto *w = new CopyExtents(env, RawPath(env, info[0]), RawPath(env, info[1]), offset);
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

}  // namespace

void InitQcow2Copy(Napi::Env env, Napi::Object exports) {
  exports.Set("qcow2CopyExtents", Napi::Function::New(env, CopyExtentsInto));
}

}  // namespace airship
