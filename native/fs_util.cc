// Path arguments and errors for the file-system calls.
#include "fs_util.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "args.h"

namespace airship {

const char *ErrnoName(int err) {
  // glibc >= 2.32 names every errno; an unknown number keeps a name of its own rather than becoming EIO.
  const char *name = strerrorname_np(err);
  return name != nullptr ? name : "EUNKNOWN";
}

Napi::Error ErrnoError(Napi::Env env, const char *call, const std::string &path, int err) {
  const char *name = ErrnoName(err);
  Napi::Error e =
      Napi::Error::New(env, std::string(call) + " " + path + ": " + name + " (" + std::strerror(err) + ")");
  e.Set("code", Napi::String::New(env, name));
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("syscall", Napi::String::New(env, call));
  e.Set("path", Napi::String::New(env, path));
  return e;
}

Napi::Error ShrankError(Napi::Env env, const std::string &path) {
  Napi::Error e = Napi::Error::New(env, "file shrank while reading: " + path);
  e.Set("code", Napi::String::New(env, "ESHRANK"));
  e.Set("path", Napi::String::New(env, path));
  return e;
}

int OpenRead(Napi::Env env, const std::string &path) {
  // The walk saw a regular file here; a symlink or FIFO swapped in since must not make us read a host file
  // (O_NOFOLLOW) or hang on open (O_NONBLOCK, which regular-file reads ignore).
  Fd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK));
  if (fd.get() < 0) throw ErrnoError(env, "open", path, errno);
  struct stat st;
  if (fstat(fd.get(), &st) != 0) throw ErrnoError(env, "fstat", path, errno);
  if (!S_ISREG(st.st_mode)) {
    Napi::Error e = Napi::Error::New(env, "open " + path + ": not a regular file");
    e.Set("code", Napi::String::New(env, "ENOTREG"));
    e.Set("path", Napi::String::New(env, path));
    throw e;
  }
  return fd.release();
}

void ReadFully(Napi::Env env, int fd, const std::string &path, uint8_t *dst, size_t length, uint64_t offset) {
  size_t done = 0;
  while (done < length) {
    ssize_t n = pread(fd, dst + done, length - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw ErrnoError(env, "read", path, errno);
    }
    if (n == 0) throw ShrankError(env, path);
    done += static_cast<size_t>(n);
  }
}

std::string RawPath(Napi::Env env, const Napi::Value &v) { return RawPath(env, "path argument", "path", v); }

std::string RawPath(Napi::Env env, const char *fn, const char *arg, const Napi::Value &v) {
  std::string out = RawBytes(env, fn, arg, v);
  // The system calls take a C string: a NUL inside would silently name a different (shorter) path.
  if (out.find('\0') != std::string::npos) throw ArgTypeError(env, fn, arg, "a path without NUL bytes", v);
  return out;
}

std::string RawBytes(Napi::Env env, const char *fn, const char *arg, const Napi::Value &v) {
  std::string out;
  if (v.IsBuffer()) {
    auto b = v.As<Napi::Buffer<char>>();
    out.assign(b.Data(), b.Length());
  } else if (v.IsString()) {
    size_t len = 0;
    napi_get_value_string_latin1(env, v, nullptr, 0, &len);
    out.assign(len, '\0');
    napi_get_value_string_latin1(env, v, out.data(), len + 1, &len);
  } else {
    throw ArgTypeError(env, fn, arg, "a latin1 string or a Buffer", v);
  }
  return out;
}

}  // namespace airship
