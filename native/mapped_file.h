// Zero-copy reads for the block compressors: a file range mapped into memory, and a guard that turns the
// SIGBUS a mapping raises when its file shrinks underneath it into an ordinary "file shrank" error.
#pragma once
#include <napi.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace airship {

// `length` bytes of `path` from `offset` (a multiple of the page size), mapped read-only, or read where the
// file system cannot map files; ESHRANK when the file is shorter than offset + length when opened.
class MappedRange {
 public:
  MappedRange(Napi::Env env, const std::string &path, uint64_t offset, size_t length);
  ~MappedRange();
  MappedRange(const MappedRange &) = delete;
  MappedRange &operator=(const MappedRange &) = delete;
  const uint8_t *data() const {
    return addr_ != nullptr ? static_cast<const uint8_t *>(addr_) : copy_.data();
  }

 private:
  void *addr_ = nullptr;
  size_t length_ = 0;
  // The bytes, read, when the file system cannot map the file.
  std::vector<uint8_t> copy_;
};

// Calls fn(arg) and returns true, or returns false when fn touched a page of [lo, lo + len) that no longer
// exists (the file was truncated while mapped). fn must not own resources: it is abandoned mid-way then.
bool RunGuarded(const uint8_t *lo, size_t len, void (*fn)(void *), void *arg);

}  // namespace airship
