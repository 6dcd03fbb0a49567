// Shared by the directory scanner and the file reads: path arguments and errors shaped like Node's
// (code, errno, path), so the TypeScript side can name the entry.
#pragma once
#include <napi.h>
#include <unistd.h>

#include <cstdint>
#include <string>

namespace airship {

Napi::Error ErrnoError(Napi::Env env, const char *call, const std::string &path, int err);

// The file ended before the bytes its size promised (code ESHRANK).
Napi::Error ShrankError(Napi::Env env, const std::string &path);

// Opens a file for reading; errors shaped like Node's.
int OpenRead(Napi::Env env, const std::string &path);

// Reads exactly `length` bytes at `offset` into dst; ESHRANK when the file ends first.
void ReadFully(Napi::Env env, int fd, const std::string &path, uint8_t *dst, size_t length, uint64_t offset);

// A path argument as raw bytes: a Buffer, or a latin1 string (one char per byte; names need not be UTF-8).
std::string RawPath(Napi::Env env, const Napi::Value &v);

// Closes a file descriptor when it goes out of scope.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd &) = delete;
  Fd &operator=(const Fd &) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace airship
