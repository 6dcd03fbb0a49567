// scanDir: one directory's entries with their lstat facts, link targets and xattrs, in one call. The walk
// decides what to keep; this only gathers, so a 20k-entry tree costs one call per directory instead of
// three or four per entry.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "addon.h"
#include "args.h"
#include "fs_util.h"
#include "layout.h"

namespace airship {

struct DirClose {
  void operator()(DIR *d) const { closedir(d); }
};

// listxattrat (Linux 6.13) takes a directory fd and a name; glibc 2.36 has no wrapper. The number is the same
// on every architecture (syscalls added after 6.x share one table).
#ifndef SYS_listxattrat
#define SYS_listxattrat 465
#endif

// Xattr names of an entry, not following a symlink. Most entries have none, so listing relative to the
// directory already open saves the kernel a full path walk per entry; older kernels get the path call.
static ssize_t ListXattrNames(int dfd, const char *name, const std::string &path, char *list, size_t size) {
  // Shared by the threads that load the addon: it is a fact about the kernel.
  static std::atomic<bool> haveAt{true};
  if (dfd >= 0 && haveAt.load(std::memory_order_relaxed)) {
    ssize_t n = syscall(SYS_listxattrat, dfd, name, AT_SYMLINK_NOFOLLOW, list, size);
    if (n >= 0 || errno != ENOSYS) return n;
    haveAt.store(false, std::memory_order_relaxed);
  }
  return llistxattr(path.c_str(), list, size);
}

// Xattrs of `path` (not following a symlink) as [[name, Buffer], ...]; an empty array when there are none or
// the filesystem has no xattrs. With `dfd` >= 0, `entry` is the name of `path` in that directory.
static Napi::Array ReadXattrsOf(Napi::Env env, const std::string &path, int dfd = -1,
                                const char *entry = nullptr) {
  std::vector<char> names;
  for (;;) {
    ssize_t n = ListXattrNames(dfd, entry, path, nullptr, 0);
    if (n < 0) {
      if (errno == ENOTSUP) return Napi::Array::New(env);
      throw ErrnoError(env, "llistxattr", path, errno);
    }
    names.resize(static_cast<size_t>(n));
    if (n == 0) break;
    n = ListXattrNames(dfd, entry, path, names.data(), names.size());
    if (n >= 0) {
      names.resize(static_cast<size_t>(n));
      break;
    }
    if (errno != ERANGE) throw ErrnoError(env, "llistxattr", path, errno);
  }
  Napi::Array out = Napi::Array::New(env);
  uint32_t k = 0;
  for (size_t i = 0; i < names.size();) {
    const char *name = names.data() + i;
    size_t len = std::strlen(name);
    i += len + 1;
    std::vector<char> value;
    for (;;) {
      ssize_t n = lgetxattr(path.c_str(), name, nullptr, 0);
      if (n < 0) {
        if (errno == ENODATA) break;  // removed since the listing
        throw ErrnoError(env, "lgetxattr", path, errno);
      }
      value.resize(static_cast<size_t>(n));
      n = lgetxattr(path.c_str(), name, value.data(), value.size());
      if (n >= 0) {
        value.resize(static_cast<size_t>(n));
        Napi::Array pair = Napi::Array::New(env, 2);
        pair.Set(0u, Napi::String::New(env, name, len));
        pair.Set(1u, Napi::Buffer<char>::Copy(env, value.data(), value.size()));
        out.Set(k++, pair);
        break;
      }
      if (errno != ERANGE) throw ErrnoError(env, "lgetxattr", path, errno);
    }
  }
  return out;
}

// scanDir(dir: Buffer, xattrs: boolean) → {names: Buffer, ends: Uint32Array, stats: Float64Array,
//   targets: (Buffer | undefined)[], xattrs: [index, pairs][]}
// Entries come sorted by name bytes (the order SquashFS directories need); entry i's name is
// names[ends[i-1] .. ends[i]) and its facts are stats[i * 10 ..] (see Stat).
static Napi::Value ScanDir(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  std::string dir = RawPath(env, "scanDir", "dir", info[0]);
  if (!info[1].IsBoolean()) throw ArgTypeError(env, "scanDir", "xattrs", "a boolean", info[1]);
  bool wantXattrs = info[1].As<Napi::Boolean>().Value();
  // The walk saw a folder here (the root is lstat-checked too); a symlink swapped in since is not followed.
  Fd fd(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW));
  if (fd.get() < 0) throw ErrnoError(env, "open", dir, errno);
  std::unique_ptr<DIR, DirClose> d(fdopendir(fd.get()));
  if (!d) throw ErrnoError(env, "fdopendir", dir, errno);
  fd.release();  // the DIR owns it now
  int dfd = dirfd(d.get());
  std::vector<std::string> names;
  errno = 0;
  while (dirent *e = readdir(d.get())) {
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) names.emplace_back(e->d_name);
    errno = 0;
  }
  if (errno != 0) throw ErrnoError(env, "readdir", dir, errno);
  // std::string compares as unsigned bytes, like memcmp.
  std::sort(names.begin(), names.end());

  size_t n = names.size();
  auto stats = Napi::Float64Array::New(env, n * kStatWords);
  auto ends = Napi::Uint32Array::New(env, n);
  size_t total = 0;
  for (const auto &s : names) total += s.size();
  auto packed = Napi::Buffer<char>::New(env, total);
  Napi::Array targets = Napi::Array::New(env, n);
  Napi::Array xattrs = Napi::Array::New(env);
  uint32_t withXattrs = 0;
  size_t at = 0;
  for (size_t i = 0; i < n; ++i) {
    const std::string &name = names[i];
    std::memcpy(packed.Data() + at, name.data(), name.size());
    at += name.size();
    ends[i] = static_cast<uint32_t>(at);
    std::string path = dir + "/" + name;
    struct stat st;
    if (fstatat(dfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
      throw ErrnoError(env, "lstat", path, errno);
    double *s = stats.Data() + i * kStatWords;
    s[kScanMode] = st.st_mode;
    s[kScanUid] = st.st_uid;
    s[kScanGid] = st.st_gid;
    s[kScanMtime] = static_cast<double>(st.st_mtim.tv_sec);
    s[kScanSize] = static_cast<double>(st.st_size);
    s[kScanNlink] = static_cast<double>(st.st_nlink);
    s[kScanDev] = static_cast<double>(st.st_dev);
    s[kScanIno] = static_cast<double>(st.st_ino);
    s[kScanRdevMajor] = major(st.st_rdev);
    s[kScanRdevMinor] = minor(st.st_rdev);
    if (S_ISLNK(st.st_mode)) {
      std::vector<char> buf(static_cast<size_t>(st.st_size > 0 ? st.st_size : 255) + 1);
      for (;;) {
        ssize_t len = readlinkat(dfd, name.c_str(), buf.data(), buf.size());
        if (len < 0) throw ErrnoError(env, "readlink", path, errno);
        if (static_cast<size_t>(len) < buf.size()) {
          targets.Set(static_cast<uint32_t>(i), Napi::Buffer<char>::Copy(env, buf.data(), len));
          break;
        }
        buf.resize(buf.size() * 2);
      }
    }
    if (wantXattrs) {
      Napi::Array pairs = ReadXattrsOf(env, path, dfd, name.c_str());
      if (pairs.Length() > 0) {
        Napi::Array item = Napi::Array::New(env, 2);
        item.Set(0u, Napi::Number::New(env, static_cast<double>(i)));
        item.Set(1u, pairs);
        xattrs.Set(withXattrs++, item);
      }
    }
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("names", packed);
  out.Set("ends", ends);
  out.Set("stats", stats);
  out.Set("targets", targets);
  out.Set("xattrs", xattrs);
  return out;
}

static Napi::Value ReadXattrs(const Napi::CallbackInfo &info) {
  return ReadXattrsOf(info.Env(), RawPath(info.Env(), "readXattrs", "path", info[0]));
}

void InitScan(Napi::Env env, Napi::Object exports) {
  exports.Set("scanDir", Napi::Function::New(env, ScanDir));
  exports.Set("readXattrs", Napi::Function::New(env, ReadXattrs));
}

}  // namespace airship
