// clampTimes(root, epoch): one pass over a tree setting atime and mtime of every entry modified after `epoch`
// to `epoch` (as `tar --clamp-mtime`), relative to directory descriptors, never through a symlink. In C++ for
// the syscalls alone: the same walk in JavaScript (lstat per entry) cost ~0.5 s per QCOW cut in stat objects
// and garbage. Which tree and which epoch is decided in src/stages/clamp-times.ts.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <string>

#include "addon.h"
#include "args.h"
#include "fs_util.h"

namespace airship {

namespace {

// Deeper than any real image: each level holds two descriptors and a stack frame, so a tree from a hostile
// image nested without end is refused before it can exhaust either.
constexpr int kMaxDepth = 1024;

struct Clamp {
  Napi::Env env;
  time_t epoch;
  uint64_t clamped = 0;

  bool After(const struct stat &st) const {
    return st.st_mtim.tv_sec > epoch || (st.st_mtim.tv_sec == epoch && st.st_mtim.tv_nsec > 0);
  }

  // `name` in the folder `dirfd` (shown as `path`): its own time set, never its target's.
  void Set(int dirfd, const char *name, const std::string &path) {
    const struct timespec t[2] = {{epoch, 0}, {epoch, 0}};
    if (utimensat(dirfd, name, t, AT_SYMLINK_NOFOLLOW) != 0) throw ErrnoError(env, "utimensat", path, errno);
    clamped++;
  }

  // Every entry of the open folder `fd` (shown as `path`), sub-folders first, then the entry itself.
  void Folder(int fd, const std::string &path, int depth) {
    if (depth > kMaxDepth) {
      Napi::Error e = Napi::Error::New(env, "clampTimes " + path + ": folders nested deeper than " +
                                                std::to_string(kMaxDepth) + " levels");
      e.Set("code", Napi::String::New(env, "ETOODEEP"));
      e.Set("path", Napi::String::New(env, path));
      throw e;
    }
    int listing = dup(fd);
    if (listing < 0) throw ErrnoError(env, "dup", path, errno);
    DIR *d = fdopendir(listing);
    if (!d) {
      close(listing);
      throw ErrnoError(env, "fdopendir", path, errno);
    }
    struct Closer {
      DIR *d;
      ~Closer() { closedir(d); }
    } closer{d};
    for (;;) {
      errno = 0;
      struct dirent *e = readdir(d);
      if (!e) {
        if (errno != 0) throw ErrnoError(env, "readdir", path, errno);
        break;
      }
      const char *name = e->d_name;
      if (name[0] == '.' && (name[1] == 0 || (name[1] == '.' && name[2] == 0))) continue;
      std::string sub = path + "/" + name;
      struct stat st;
      if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) throw ErrnoError(env, "lstat", sub, errno);
      if (S_ISDIR(st.st_mode)) {
        Fd child(openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (child.get() < 0) throw ErrnoError(env, "open", sub, errno);
        Folder(child.get(), sub, depth + 1);
      }
      if (After(st)) Set(fd, name, sub);
    }
  }
};

// clampTimes(root: string | Buffer, epoch: number) → entries clamped (root included)
Napi::Value ClampTimes(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  const char *fn = "clampTimes";
  std::string root = RawPath(env, fn, "root", info[0]);
  auto epoch = static_cast<time_t>(IntegerIn(env, fn, "epoch", info[1], 0, 253402300799.0));
  Clamp c{env, epoch};
  struct stat st;
  if (lstat(root.c_str(), &st) != 0) throw ErrnoError(env, "lstat", root, errno);
  if (S_ISDIR(st.st_mode)) {
    Fd fd(open(root.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (fd.get() < 0) throw ErrnoError(env, "open", root, errno);
    c.Folder(fd.get(), root, 1);
  }
  if (c.After(st)) c.Set(AT_FDCWD, root.c_str(), root);
  return Napi::Number::New(env, static_cast<double>(c.clamped));
}

}  // namespace

void InitTreeTimes(Napi::Env env, Napi::Object exports) {
  exports.Set("clampTimes", Napi::Function::New(env, ClampTimes));
}

}  // namespace airship
