// System calls for confined access inside an extracted image tree: openat2(2) (which glibc does not wrap),
// mkdirat, unlinkat and renameat2, each relative to a directory file descriptor the caller holds. No policy
// here: which resolve flags to use and what a refusal means is decided in src/stages/tree-fs.ts.
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <string>

#include "addon.h"
#include "args.h"
#include "fs_util.h"

namespace airship {

// openat2(dirfd, path, flags, mode, resolve) → fd
static Napi::Value OpenAt2(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  const char *fn = "openat2";
  int dirfd = I32Arg(env, fn, "dirfd", info[0]);
  std::string path = RawPath(env, fn, "path", info[1]);
  open_how how{};
  how.flags = static_cast<uint64_t>(U32Arg(env, fn, "flags", info[2])) | O_CLOEXEC;
  how.mode = static_cast<uint64_t>(IntegerIn(env, fn, "mode", info[3], 0, 07777));
  how.resolve = static_cast<uint64_t>(U32Arg(env, fn, "resolve", info[4]));
  long fd;
  do fd = syscall(SYS_openat2, dirfd, path.c_str(), &how, sizeof how);
  while (fd < 0 && (errno == EINTR || errno == EAGAIN));
  if (fd < 0) throw ErrnoError(env, "openat2", path, errno);
  return Napi::Number::New(env, static_cast<double>(fd));
}

// mkdirat(dirfd, name, mode)
static Napi::Value MkdirAt(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  const char *fn = "mkdirat";
  int dirfd = I32Arg(env, fn, "dirfd", info[0]);
  std::string name = RawPath(env, fn, "name", info[1]);
  auto mode = static_cast<mode_t>(IntegerIn(env, fn, "mode", info[2], 0, 07777));
  if (mkdirat(dirfd, name.c_str(), mode) != 0) throw ErrnoError(env, "mkdirat", name, errno);
  return env.Undefined();
}

// unlinkat(dirfd, name, flags)
static Napi::Value UnlinkAt(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  const char *fn = "unlinkat";
  int dirfd = I32Arg(env, fn, "dirfd", info[0]);
  std::string name = RawPath(env, fn, "name", info[1]);
  int flags = I32Arg(env, fn, "flags", info[2]);
  if (unlinkat(dirfd, name.c_str(), flags) != 0) throw ErrnoError(env, "unlinkat", name, errno);
  return env.Undefined();
}

// renameat(fromDirfd, fromName, toDirfd, toName): never replaces an existing destination.
static Napi::Value RenameAt(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  const char *fn = "renameat";
  int from = I32Arg(env, fn, "fromDirfd", info[0]);
  std::string fromName = RawPath(env, fn, "fromName", info[1]);
  int to = I32Arg(env, fn, "toDirfd", info[2]);
  std::string toName = RawPath(env, fn, "toName", info[3]);
  if (renameat2(from, fromName.c_str(), to, toName.c_str(), RENAME_NOREPLACE) != 0)
    throw ErrnoError(env, "renameat", fromName, errno);
  return env.Undefined();
}

void InitTreeFs(Napi::Env env, Napi::Object exports) {
  exports.Set("openat2", Napi::Function::New(env, OpenAt2));
  exports.Set("mkdirat", Napi::Function::New(env, MkdirAt));
  exports.Set("unlinkat", Napi::Function::New(env, UnlinkAt));
  exports.Set("renameat", Napi::Function::New(env, RenameAt));
  Napi::Object c = Napi::Object::New(env);
  c.Set("O_PATH", Napi::Number::New(env, O_PATH));
  c.Set("O_NOFOLLOW", Napi::Number::New(env, O_NOFOLLOW));
  c.Set("O_DIRECTORY", Napi::Number::New(env, O_DIRECTORY));
  c.Set("AT_FDCWD", Napi::Number::New(env, AT_FDCWD));
  c.Set("AT_REMOVEDIR", Napi::Number::New(env, AT_REMOVEDIR));
  c.Set("RESOLVE_BENEATH", Napi::Number::New(env, RESOLVE_BENEATH));
  c.Set("RESOLVE_IN_ROOT", Napi::Number::New(env, RESOLVE_IN_ROOT));
  c.Set("RESOLVE_NO_SYMLINKS", Napi::Number::New(env, RESOLVE_NO_SYMLINKS));
  c.Set("RESOLVE_NO_MAGICLINKS", Napi::Number::New(env, RESOLVE_NO_MAGICLINKS));
  c.Set("RESOLVE_NO_XDEV", Napi::Number::New(env, RESOLVE_NO_XDEV));
  exports.Set("treeFsConstants", c);
}

}  // namespace airship
