// Errors from file-system calls for the directory scanner.
#include "fs_error.h"

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

}  // namespace airship
