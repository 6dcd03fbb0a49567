// Layouts shared with TypeScript: the slots of the number arrays that cross the boundary, record kinds and
// block words. The addon exports them (constants.cc) and src/squashfs/native.ts refuses to load an addon
// whose numbers differ from its own, so the two sides cannot drift apart silently.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace airship {

// SquashFS marks a data block stored uncompressed with this bit of its size word.
constexpr uint32_t kRawBit = 1u << 24;

// SquashFS block sizes: powers of two from 4 KiB to 1 MiB (mksquashfs' default 128 KiB).
constexpr uint32_t kMinBlockSize = 4096, kMaxBlockSize = 1u << 20, kDefaultBlockSize = 131072;

// A compression task's records (src/squashfs/protocol.ts ITEM): kItemSize numbers each.
enum Item : size_t { kItemKind, kItemSrc, kItemOffset, kItemLength, kItemFileSize, kItemSize };
// Record kinds: a run of a file's full blocks, a fragment block (its parts follow), a fragment's part.
enum RecordKind { kBlocks, kFragment, kPart };

// Slots of the inode field array (src/squashfs/native.ts INODE).
enum InodeField : size_t {
  kMode,
  kUid,
  kGid,
  kMtime,
  kIno,
  kNlink,
  kXattr,
  kSize,
  kStart,
  kFragIndex,
  kFragOffset,
  kSparse,
  kDevno,
  kParent,
  kFields
};

// Numbers per scanned directory entry (src/squashfs/native.ts SCAN), in this order.
enum ScanField : size_t {
  kScanMode,
  kScanUid,
  kScanGid,
  kScanMtime,
  kScanSize,
  kScanNlink,
  kScanDev,
  kScanIno,
  kScanRdevMajor,
  kScanRdevMinor,
  kStatWords
};

// Whether n bytes are all zero (a sparse block or an unallocated cluster). Checked once per 512 bytes, so
// data stops the scan early without slowing the all-zero case.
inline bool AllZero(const uint8_t *p, size_t n) {
  uint64_t acc = 0;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    acc |= w;
    if ((i & 511) == 504 && acc != 0) return false;
  }
  for (; i < n; i++) acc |= p[i];
  return acc == 0;
}

}  // namespace airship
