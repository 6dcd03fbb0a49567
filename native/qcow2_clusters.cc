// The qcow2 writer's native part: where a raw disk holds data (SEEK_DATA/SEEK_HOLE), and a batch of its
// clusters read and compressed in one call from a pool worker. The layout of the image is decided in
// TypeScript.
#include <fcntl.h>
#include <libdeflate.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "addon.h"
#include "fs_util.h"
#include "layout.h"

namespace airship {

namespace {

// qcow2DataExtents(path, size): [start, end) pairs of the file's data, in order, clipped to size. A file
// system without SEEK_DATA gets one extent for the whole file.
Napi::Value DataExtents(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  std::string path = RawPath(env, info[0]);
  auto size = static_cast<off_t>(info[1].As<Napi::Number>().Int64Value());
  Fd fd(OpenRead(env, path));
  std::vector<double> pairs;
  for (off_t at = 0; at < size;) {
    off_t data = lseek(fd.get(), at, SEEK_DATA);
    if (data < 0) {
      if (errno == ENXIO) break;
      if (errno == EINVAL && at == 0) {
        pairs = {0, static_cast<double>(size)};
        break;
      }
      throw ErrnoError(env, "lseek", path, errno);
    }
    if (data >= size) break;
    off_t hole = lseek(fd.get(), data, SEEK_HOLE);
    if (hole < 0) throw ErrnoError(env, "lseek", path, errno);
    if (hole > size) hole = size;
    pairs.push_back(static_cast<double>(data));
    pairs.push_back(static_cast<double>(hole));
    at = hole;
  }
  auto out = Napi::Float64Array::New(env, pairs.size());
  if (!pairs.empty()) std::memcpy(out.Data(), pairs.data(), pairs.size() * sizeof(double));
  return out;
}

struct DeflateFree {
  void operator()(libdeflate_compressor *c) const { libdeflate_free_compressor(c); }
  void operator()(libdeflate_decompressor *d) const { libdeflate_free_decompressor(d); }
};
struct ZstdFree {
  void operator()(ZSTD_CCtx *c) const { ZSTD_freeCCtx(c); }
  void operator()(ZSTD_DCtx *d) const { ZSTD_freeDCtx(d); }
};

// One compressor (and decompressor, for reuse checks) per worker thread, remade when the settings change.
struct Compressors {
  int deflateLevel = -1;
  std::unique_ptr<libdeflate_compressor, DeflateFree> deflate;
  std::unique_ptr<ZSTD_CCtx, ZstdFree> zstd;
  std::unique_ptr<libdeflate_decompressor, DeflateFree> inflate;
  std::unique_ptr<ZSTD_DCtx, ZstdFree> unzstd;
};

thread_local Compressors compressors;

// Compressed length in dst (capacity `room`), or 0 when the data does not fit in it. Raw deflate with
// libdeflate's 32 KiB window: qemu sets up inflate with a 4 KiB window but inflates a whole cluster in one
// call, where a match may reach back to any byte already written (checked by qemu-img compare in the tests).
// zstd: a frame, as qemu writes and reads it.
size_t Compress(Napi::Env env, int type, int level, const uint8_t *src, size_t n, uint8_t *dst, size_t room) {
  if (type == 0) {
    if (!compressors.deflate || compressors.deflateLevel != level) {
      compressors.deflate.reset(libdeflate_alloc_compressor(level));
      compressors.deflateLevel = level;
      if (!compressors.deflate) throw Napi::Error::New(env, "cannot set up a deflate compressor");
    }
    return libdeflate_deflate_compress(compressors.deflate.get(), src, n, dst, room);
  }
  if (!compressors.zstd) {
    compressors.zstd.reset(ZSTD_createCCtx());
    if (!compressors.zstd) throw Napi::Error::New(env, "cannot set up a zstd compressor");
  }
  size_t r = ZSTD_compressCCtx(compressors.zstd.get(), dst, room, src, n, level);
  return ZSTD_isError(r) ? 0 : r;
}

// Whether `stored` (n bytes as another image of the same settings holds a cluster: compressed when n > 0, as
// is when n < 0) gives back exactly `cluster`. `scratch` takes the decompressed bytes.
bool SameCluster(Napi::Env env, int type, const uint8_t *stored, int32_t n, const uint8_t *cluster,
                 size_t size, uint8_t *scratch) {
  if (n < 0) return static_cast<size_t>(-n) == size && std::memcmp(stored, cluster, size) == 0;
  size_t got = 0;
  if (type == 0) {
    if (!compressors.inflate) {
      compressors.inflate.reset(libdeflate_alloc_decompressor());
      if (!compressors.inflate) throw Napi::Error::New(env, "cannot set up a deflate decompressor");
    }
    if (libdeflate_deflate_decompress(compressors.inflate.get(), stored, n, scratch, size, &got) !=
        LIBDEFLATE_SUCCESS)
      return false;
  } else {
    if (!compressors.unzstd) {
      compressors.unzstd.reset(ZSTD_createDCtx());
      if (!compressors.unzstd) throw Napi::Error::New(env, "cannot set up a zstd decompressor");
    }
    got = ZSTD_decompressDCtx(compressors.unzstd.get(), scratch, size, stored, n);
    if (ZSTD_isError(got)) return false;
  }
  return got == size && std::memcmp(scratch, cluster, size) == 0;
}

// Whether the raw disk `fd` holds `cluster` (`size` bytes; past `virtualSize` zeros) at byte `at`.
// `scratch` takes its bytes.
bool SameRaw(int fd, uint64_t at, const uint8_t *cluster, size_t size, uint64_t virtualSize,
             uint8_t *scratch) {
  size_t n = at >= virtualSize ? 0 : static_cast<size_t>(std::min<uint64_t>(size, virtualSize - at));
  for (size_t got = 0; got < n;) {
    ssize_t r = pread(fd, scratch + got, n - got, static_cast<off_t>(at + got));
    if (r <= 0) {
      if (r < 0 && errno == EINTR) continue;
      return false;
    }
    got += static_cast<size_t>(r);
  }
  std::memset(scratch + n, 0, size - n);
  return std::memcmp(scratch, cluster, size) == 0;
}

// qcow2CompressClusters(path, offsets: Float64Array, opts, out: Uint8Array, sizes: Int32Array
//                       [, refPath, refHost: Float64Array, refSizes: Int32Array[, refRaw]]): reads the
// cluster at each offset of the raw file (bytes past `virtualSize` count as zeros) and puts it into `out`,
// one after the other: sizes[i] is 0 for an all-zero cluster (nothing written), n > 0 for n compressed bytes,
// and -clusterSize for a cluster stored as is because it did not compress to less than a cluster (qemu's
// rule). opts: { clusterSize, virtualSize, type: 0 deflate | 1 zstd | 2 none (every cluster as is), level }.
// With a reference (another qcow2 of the same virtual size, type and level; refSizes[i] != 0 where it holds
// the cluster at offsets[i], as refSizes[i] bytes at refHost[i]), a cluster those bytes give back exactly is
// taken from there instead of compressed again: the same compressor at the same level gives the same bytes,
// so the output does not depend on it. Anything else in the reference (changed, unreadable) is compressed.
// With refRaw, the raw disk the reference was written from (and is not written to any more), a cluster is
// compared with that disk's bytes at the same offset instead of with the reference's bytes decompressed:
// the writer that made the reference is what vouches that those bytes are its compressed form.
// With basePath and baseRanges ([start, end) byte pairs, ascending: the runs a fill skipped because that disk
// already held them, see ext4Fill), the raw file's bytes in those ranges are the base disk's: a cluster is
// read from both. A cluster wholly in them, whose reference was written from that same base disk, is that
// reference's cluster: it is copied without a read.
// On return refSizes[i] is 0 unless cluster i was taken from the reference.
// Returns the bytes written to `out`.
Napi::Value CompressClusters(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  std::string path = RawPath(env, info[0]);
  if (!info[1].IsTypedArray() || !info[2].IsObject() || !info[3].IsTypedArray() || !info[4].IsTypedArray())
    throw Napi::TypeError::New(env, "qcow2CompressClusters(path, offsets, opts, out, sizes)");
  auto offsets = info[1].As<Napi::Float64Array>();
  auto opts = info[2].As<Napi::Object>();
  auto out = info[3].As<Napi::Uint8Array>();
  auto sizes = info[4].As<Napi::Int32Array>();
  size_t cluster = opts.Get("clusterSize").As<Napi::Number>().Uint32Value();
  auto virtualSize = static_cast<uint64_t>(opts.Get("virtualSize").As<Napi::Number>().Int64Value());
  int type = opts.Get("type").As<Napi::Number>().Int32Value();
  int level = opts.Get("level").As<Napi::Number>().Int32Value();
  size_t count = offsets.ElementLength();
  if (cluster == 0 || sizes.ElementLength() < count || out.ByteLength() < count * cluster)
    throw Napi::RangeError::New(env, "qcow2CompressClusters: out or sizes too small for the batch");
  if ((type == 0 && (level < 0 || level > 12)) || (type == 1 && (level < 1 || level > 22)) || type < 0 ||
      type > 2)
    throw Napi::RangeError::New(env, "qcow2CompressClusters: bad compression type or level");
  bool reuse = info.Length() >= 8 && !info[5].IsUndefined();
  int refFd = -1, refRawFd = -1;
  Napi::Float64Array refHost;
  Napi::Int32Array refSizes;
  if (reuse) {
    if (!info[6].IsTypedArray() || !info[7].IsTypedArray())
      throw Napi::TypeError::New(env, "qcow2CompressClusters: refHost and refSizes must be typed arrays");
    refHost = info[6].As<Napi::Float64Array>();
    refSizes = info[7].As<Napi::Int32Array>();
    if (refHost.ElementLength() < count || refSizes.ElementLength() < count)
      throw Napi::RangeError::New(env, "qcow2CompressClusters: refHost or refSizes too small for the batch");
    std::string refPath = RawPath(env, info[5]);
    refFd = open(refPath.c_str(), O_RDONLY | O_CLOEXEC);
    if (info.Length() >= 9 && !info[8].IsUndefined()) {
      std::string rawPath = RawPath(env, info[8]);
      refRawFd = open(rawPath.c_str(), O_RDONLY | O_CLOEXEC);
    }
  }
  Fd ref(refFd);
  Fd refRaw(refRawFd);
  int baseFd = -1;
  Napi::Float64Array ranges;
  if (info.Length() >= 11 && !info[9].IsUndefined()) {
    if (!info[10].IsTypedArray() || info[10].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array ||
        info[10].As<Napi::TypedArray>().ElementLength() % 2 != 0)
      throw Napi::TypeError::New(env, "qcow2CompressClusters: baseRanges must be a Float64Array of pairs");
    ranges = info[10].As<Napi::Float64Array>();
    // A descriptor's path (/proc/self/fd/N) as the reference's: opened through its link.
    std::string basePath = RawPath(env, info[9]);
    baseFd = open(basePath.c_str(), O_RDONLY | O_CLOEXEC);
    if (baseFd < 0) throw ErrnoError(env, "open", basePath, errno);
  }
  Fd base(baseFd);
  size_t rangeCount = base.get() >= 0 ? ranges.ElementLength() / 2 : 0;
  // The reference was written from the base disk: its clusters there are the base's bytes.
  bool refFromBase = false;
  if (base.get() >= 0 && refRaw.get() >= 0) {
    struct stat a, b;
    refFromBase = fstat(base.get(), &a) == 0 && fstat(refRaw.get(), &b) == 0 && a.st_dev == b.st_dev &&
                  a.st_ino == b.st_ino;
  }
  size_t k = 0;  // first base range that may reach the current cluster
  thread_local std::vector<uint8_t> buf, stored, scratch;
  buf.resize(cluster);
  stored.resize(cluster);
  scratch.resize(cluster);
  Fd fd(OpenRead(env, path));
  uint8_t *dst = out.Data();
  size_t used = 0;
  for (size_t i = 0; i < count; i++) {
    auto at = static_cast<uint64_t>(offsets[i]);
    size_t n = at >= virtualSize ? 0 : static_cast<size_t>(std::min<uint64_t>(cluster, virtualSize - at));
    uint64_t end = at + n;
    while (k < rangeCount && static_cast<uint64_t>(ranges[2 * k + 1]) <= at) k++;
    size_t inBase = 0;
    for (size_t j = k; j < rangeCount && static_cast<uint64_t>(ranges[2 * j]) < end; j++)
      inBase += std::min<uint64_t>(end, static_cast<uint64_t>(ranges[2 * j + 1])) -
                std::max<uint64_t>(at, static_cast<uint64_t>(ranges[2 * j]));
    if (n > 0 && inBase == n && refFromBase && refSizes[i] != 0 && type != 2) {
      int32_t sn = refSizes[i];
      size_t len = static_cast<size_t>(sn < 0 ? -sn : sn);
      if (len <= cluster &&
          pread(ref.get(), dst + used, len, static_cast<off_t>(refHost[i])) == static_cast<ssize_t>(len)) {
        sizes[i] = sn;
        used += len;
        continue;
      }
    }
    ReadFully(env, fd.get(), path, buf.data(), n, at);
    for (size_t j = k; inBase > 0 && j < rangeCount && static_cast<uint64_t>(ranges[2 * j]) < end; j++) {
      uint64_t from = std::max<uint64_t>(at, static_cast<uint64_t>(ranges[2 * j]));
      uint64_t to = std::min<uint64_t>(end, static_cast<uint64_t>(ranges[2 * j + 1]));
      ReadFully(env, base.get(), "the base disk", buf.data() + (from - at), static_cast<size_t>(to - from),
                from);
    }
    std::memset(buf.data() + n, 0, cluster - n);
    if (AllZero(buf.data(), cluster)) {
      sizes[i] = 0;
      if (reuse) refSizes[i] = 0;
      continue;
    }
    if (ref.get() >= 0 && refSizes[i] != 0 && type != 2) {
      int32_t n = refSizes[i];
      size_t len = static_cast<size_t>(n < 0 ? -n : n);
      // Against the reference's raw disk when there is one (a read and a compare), else decompressed.
      bool byRaw = refRaw.get() >= 0;
      bool same =
          len <= cluster &&
          (!byRaw || SameRaw(refRaw.get(), at, buf.data(), cluster, virtualSize, scratch.data())) &&
          pread(ref.get(), stored.data(), len, static_cast<off_t>(refHost[i])) == static_cast<ssize_t>(len) &&
          (byRaw || SameCluster(env, type, stored.data(), n, buf.data(), cluster, scratch.data()));
      if (same) {
        std::memcpy(dst + used, stored.data(), len);
        sizes[i] = n;
        used += len;
        continue;
      }
    }
    if (reuse) refSizes[i] = 0;
    size_t c = type == 2 ? 0 : Compress(env, type, level, buf.data(), cluster, dst + used, cluster - 1);
    if (c == 0) {
      std::memcpy(dst + used, buf.data(), cluster);
      sizes[i] = -static_cast<int32_t>(cluster);
      used += cluster;
    } else {
      sizes[i] = static_cast<int32_t>(c);
      used += c;
    }
  }
  return Napi::Number::New(env, static_cast<double>(used));
}

}  // namespace

void InitQcow2(Napi::Env env, Napi::Object exports) {
  exports.Set("qcow2DataExtents", Napi::Function::New(env, DataExtents));
  exports.Set("qcow2CompressClusters", Napi::Function::New(env, CompressClusters));
}

}  // namespace airship
