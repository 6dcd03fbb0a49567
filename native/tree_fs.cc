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

// A directory descriptor and a raw name relative to it: the pair every *at call takes, at info[i] and info[i
// + 1].
struct At {
  int dirfd;
  std::string name;
};

static At AtArgs(Napi::Env env, const Napi::CallbackInfo &info, size_t i, const char *fn, const char *dirArg,
                 const char *nameArg) {
  return {I32Arg(env, fn, dirArg, info[i]), RawPath(env, fn, nameArg, info[i + 1])};
}

// openat2(dirfd, path, flags, mode, resolve) → fd
static Napi::Value OpenAt2(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  const char *fn = "openat2";
  auto [dirfd, path] = AtArgs(env, info, 0, fn, "dirfd", "path");
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
  auto [dirfd, name] = AtArgs(env, info, 0, fn, "dirfd", "name");
  auto mode = static_cast<mode_t>(IntegerIn(env, fn, "mode", info[2], 0, 07777));
  if (mkdirat(dirfd, name.c_str(), mode) != 0) throw ErrnoError(env, "mkdirat", name, errno);
  return env.Undefined();
}

// unlinkat(dirfd, name, flags)
static Napi::Value UnlinkAt(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  const char *fn = "unlinkat";
  auto [dirfd, name] = AtArgs(env, info, 0, fn, "dirfd", "name");
  int flags = I32Arg(env, fn, "flags", info[2]);
  if (unlinkat(dirfd, name.c_str(), flags) != 0) throw ErrnoError(env, "unlinkat", name, errno);
  return env.Undefined();
}

// renameat(fromDirfd, fromName, toDirfd, toName): never replaces an existing destination.
static Napi::Value RenameAt(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  const char *fn = "renameat";
  At from = AtArgs(env, info, 0, fn, "fromDirfd", "fromName");
  At to = AtArgs(env, info, 2, fn, "toDirfd", "toName");
  if (renameat2(from.dirfd, from.name.c_str(), to.dirfd, to.name.c_str(), RENAME_NOREPLACE) != 0)
    throw ErrnoError(env, "renameat", from.name, errno);
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
