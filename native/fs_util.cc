// Path arguments and errors for the file-system calls.
#include "fs_util.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

namespace airship {

static const char *CodeOf(int err) {
  switch (err) {
    case ENOENT:
      return "ENOENT";
    case EACCES:
      return "EACCES";
    case ENOTDIR:
      return "ENOTDIR";
    case ELOOP:
      return "ELOOP";
    case EEXIST:
      return "EEXIST";
    case EISDIR:
      return "EISDIR";
    case ENOTEMPTY:
      return "ENOTEMPTY";
    case EXDEV:
      return "EXDEV";
    case EPERM:
      return "EPERM";

    default:
      return "EIO";
  }
}

Napi::Error ErrnoError(Napi::Env env, const char *call, const std::string &path, int err) {
  Napi::Error e = Napi::Error::New(env, std::string(call) + " " + path + ": " + std::strerror(err));
  e.Set("code", Napi::String::New(env, CodeOf(err)));
  e.Set("errno", Napi::Number::New(env, err));
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
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) throw ErrnoError(env, "open", path, errno);
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    Napi::Error e = Napi::Error::New(env, "open " + path + ": not a regular file");
    e.Set("code", Napi::String::New(env, "ENOTREG"));
    e.Set("path", Napi::String::New(env, path));
    throw e;
  }
  return fd;
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

std::string RawPath(Napi::Env env, const Napi::Value &v) {
  if (v.IsBuffer()) {
    auto b = v.As<Napi::Buffer<char>>();
    return std::string(b.Data(), b.Length());
  }
  size_t len = 0;
  if (napi_get_value_string_latin1(env, v, nullptr, 0, &len) != napi_ok)
    throw Napi::TypeError::New(env, "path must be a latin1 string or a Buffer");
  std::string out(len, '\0');
  napi_get_value_string_latin1(env, v, out.data(), len + 1, &len);
  return out;
}

}  // namespace airship
