// Errors from file-system calls, shaped like Node's (code, errno, path) so the walk can name the entry.
#pragma once
#include <napi.h>

#include <string>

namespace airship {

Napi::Error ErrnoError(Napi::Env env, const char *call, const std::string &path, int err);

}  // namespace airship
