// Extended attributes of a path without following symlinks; Node has no API for them.
#include <sys/xattr.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "addon.h"

namespace airship {

static Napi::Error ErrnoError(Napi::Env env, const char *call, const std::string &path, int err) {
  Napi::Error e = Napi::Error::New(env, std::string(call) + " " + path + ": " + std::strerror(err));
  e.Set("code", Napi::String::New(env, err == ENOENT ? "ENOENT" : err == EACCES ? "EACCES" : "EIO"));
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("path", Napi::String::New(env, path));
  return e;
}

// readXattrs(path) → [[name, Buffer], ...] in the order the filesystem lists them.
static Napi::Value ReadXattrs(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  std::string path = info[0].ToString().Utf8Value();
  if (info[0].IsBuffer()) {
    auto b = info[0].As<Napi::Buffer<char>>();
    path.assign(b.Data(), b.Length());
  }
  std::vector<char> names;
  for (;;) {
    ssize_t n = llistxattr(path.c_str(), nullptr, 0);
    if (n < 0) {
      if (errno == ENOTSUP) return Napi::Array::New(env);
      throw ErrnoError(env, "llistxattr", path, errno);
    }
    names.resize(static_cast<size_t>(n));
    if (n == 0) break;
    n = llistxattr(path.c_str(), names.data(), names.size());
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
        if (errno == ENODATA) break;
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

void InitXattrs(Napi::Env env, Napi::Object exports) {
  exports.Set("readXattrs", Napi::Function::New(env, ReadXattrs));
}

}  // namespace airship
