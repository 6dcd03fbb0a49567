// Shared by the directory scanner and the file reads: path arguments and errors shaped like Node's
// (code, errno, path), so the TypeScript side can name the entry.
#pragma once
#include <napi.h>
#include <unistd.h>

#include <cstdint>
#include <string>

namespace airship {

// The errno's own name (ENOSPC, EMFILE, ELOOP, ...), from glibc.
const char *ErrnoName(int err);

// "<call> <path>: <ENAME> (<strerror>)" with code (the errno's name), errno, syscall and path, as Node's.
Napi::Error ErrnoError(Napi::Env env, const char *call, const std::string &path, int err);

// The file ended before the bytes its size promised (code ESHRANK).
Napi::Error ShrankError(Napi::Env env, const std::string &path);

// Opens a file for reading; errors shaped like Node's.
int OpenRead(Napi::Env env, const std::string &path);

// Reads exactly `length` bytes at `offset` into dst; ESHRANK when the file ends first.
void ReadFully(Napi::Env env, int fd, const std::string &path, uint8_t *dst, size_t length, uint64_t offset);

// A path argument as raw bytes: a Buffer, or a latin1 string (one char per byte; names need not be UTF-8).
// A TypeError (ERR_INVALID_ARG_TYPE) for any other value, or a path with a NUL byte inside.
std::string RawPath(Napi::Env env, const Napi::Value &v);
// The same, naming the call and argument in the error.
std::string RawPath(Napi::Env env, const char *fn, const char *arg, const Napi::Value &v);
// Raw bytes of a latin1 string or a Buffer, NULs allowed (NUL-separated path lists).
std::string RawBytes(Napi::Env env, const char *fn, const char *arg, const Napi::Value &v);

// Closes a file descriptor when it goes out of scope.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  // Hands the descriptor to the caller (who then closes it).
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
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
