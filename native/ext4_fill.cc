// ext4Fill(disk, offset, root, epoch, abort): fills the empty ext4 that mke2fs made at `offset` in `disk`
// with the tree at `root`, on the libuv thread pool. libext2fs writes the tables (inodes, directories,
// extents, bitmaps); each file's blocks are allocated in runs (ext2fs_fallocate) and its bytes copied by the
// kernel (copy_file_range, on a thread of its own: data_copier.h) straight to the blocks it got. `mke2fs -d`
// writes every 4 KiB block with its own pwrite and walks the extent tree per block: ~2.5 CPU-s for a 880 MB
// root, against about one here.
//
// The tree comes from an image, so it is walked relative to folder descriptors, never through a symlink, and
// an entry is opened for reading only after fstatat said it is a regular file (and the open must be the same
// inode). Times: atime, ctime and crtime are `epoch`, mtime is the source's clamped to `epoch` (seconds), as
// the mke2fs path gave after its time fix-up. Which tree, which epoch and whether to use this at all (not
// without root: the tree's owners then live in fakeroot's state) is decided in src/stages/ext4-fill.ts.
#include <dirent.h>
#include <ext2fs/ext2fs.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "addon.h"
#include "args.h"
#include "data_copier.h"
#include "fs_util.h"

namespace airship {

namespace {

// Words per run in a fill's record: device, inode, mtime seconds and nanoseconds, from, to, length.
constexpr size_t kRecordWords = 7;

// As clampTimes: deeper than any real image, and each level holds descriptors and a stack frame.
constexpr int kMaxDepth = 1024;

// Why a fill stopped, carried from the pool thread to the JS error.
struct Failure {
  std::string code;  // errno name, ENOSPC, ETOODEEP, ABORT_ERR, EEXT2FS, ...
  std::string message;
  std::string path;
};

class Stop : public std::exception {};

// A time in an inode's 32-bit seconds plus the two epoch bits of its _extra field (nanoseconds kept 0).
void SetTime(__u32 &seconds, __u32 *extra, int64_t t) {
  // The largest time the two epoch bits reach: year 2446.
  t = std::clamp<int64_t>(t, INT32_MIN, int64_t{INT32_MAX} + 3 * (int64_t{1} << 32));
  auto low = static_cast<int32_t>(static_cast<uint32_t>(t));
  seconds = static_cast<__u32>(static_cast<uint32_t>(t));
  if (extra) *extra = static_cast<__u32>(((t - low) >> 32) & 3);
}

class Filler {
 public:
  Filler(ext2_filsys fs, DataCopier &copier, uint64_t offset, int64_t epoch,
         const std::atomic<int32_t> *abort)
      : fs_(fs), copier_(copier), offset_(offset), epoch_(epoch), abort_(abort), bs_(fs->blocksize) {}

  // The open folder `fd` into the filesystem's root.
  void Root(int fd, const struct stat &st) {
    Folder(fd, EXT2_ROOT_INO, "", 1);
    Attributes(EXT2_ROOT_INO, st, "/");
    Xattrs(EXT2_ROOT_INO, fd, -1, nullptr, "/");
  }

  uint64_t inodes = 0;
  Failure failure;

 private:
  [[noreturn]] void Fail(std::string code, std::string message, const std::string &path) {
    failure = {std::move(code), std::move(message), path.empty() ? "/" : path};
    throw Stop();
  }
  [[noreturn]] void Errno(const char *call, const std::string &path, int err) {
    Fail(ErrnoName(err), std::string(call) + " " + (path.empty() ? "/" : path) + ": " + std::strerror(err),
         path);
  }
  // A libext2fs error: the filesystem being full is ENOSPC (the partition is too small for the tree).
  void Check(errcode_t err, const char *what, const std::string &path) {
    if (!err) return;
    if (err == EXT2_ET_BLOCK_ALLOC_FAIL || err == EXT2_ET_INODE_ALLOC_FAIL || err == EXT2_ET_DIR_NO_SPACE)
      Fail("ENOSPC", std::string(what) + " " + path + ": the filesystem is full (" + error_message(err) + ")",
           path);
    if (err > 0 && err < 4096) Errno(what, path, static_cast<int>(err));
    Fail("EEXT2FS", std::string(what) + " " + path + ": " + error_message(err), path);
  }

  void Folder(int fd, ext2_ino_t dir, const std::string &path, int depth) {
    if (depth > kMaxDepth)
      Fail("ETOODEEP",
           "ext4Fill " + path + ": folders nested deeper than " + std::to_string(kMaxDepth) + " levels",
           path);
    for (const std::string &name : Names(fd, path)) {
      if (abort_->load(std::memory_order_relaxed)) Fail("ABORT_ERR", "ext4Fill: aborted", path);
      if (copier_.Failed()) Fail("ECOPY", "ext4Fill: a copy failed", path);  // the copier's error is reported
      Entry(fd, dir, name, path + "/" + name, depth);
    }
  }

  // The folder's entry names, sorted by their bytes: the same tree gives the same filesystem.
  std::vector<std::string> Names(int fd, const std::string &path) {
    int listing = dup(fd);
    if (listing < 0) Errno("dup", path, errno);
    DIR *d = fdopendir(listing);
    if (!d) {
      close(listing);
      Errno("fdopendir", path, errno);
    }
    std::vector<std::string> names;
    for (;;) {
      errno = 0;
      struct dirent *e = readdir(d);
      if (!e) break;
      const char *n = e->d_name;
      if (n[0] == '.' && (n[1] == 0 || (n[1] == '.' && n[2] == 0))) continue;
      names.emplace_back(n);
    }
    int err = errno;
    closedir(d);
    if (err) Errno("readdir", path, err);
    std::sort(names.begin(), names.end());
    return names;
  }

  void Entry(int dirfd, ext2_ino_t dir, const std::string &name, const std::string &path, int depth) {
    struct stat st;
    if (fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) Errno("lstat", path, errno);
    bool shared = !S_ISDIR(st.st_mode) && st.st_nlink > 1;
    if (shared) {
      auto seen = links_.find({st.st_dev, st.st_ino});
      if (seen != links_.end()) return HardLink(dir, name, seen->second, st, path);
    }
    ext2_ino_t ino = 0;
    if (dir == EXT2_ROOT_INO && name == "lost+found") {
      // mke2fs made it: the image's own is filled into that one (another entry of the name would be a
      // second, duplicate name in the root folder).
      if (!S_ISDIR(st.st_mode))
        Fail("EEXIST", "ext4Fill " + path + ": not a folder (ext4 keeps a lost+found folder)", path);
      Check(ext2fs_lookup(fs_, dir, name.data(), static_cast<int>(name.size()), nullptr, &ino), "lookup",
            path);
    }
    switch (st.st_mode & S_IFMT) {
      case S_IFDIR: {
        if (!ino) ino = MakeFolder(dir, name, path);
        int fd = openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) Errno("open", path, errno);
        Fd child(fd);
        Folder(fd, ino, path, depth + 1);
        Attributes(ino, st, path);
        Xattrs(ino, fd, -1, nullptr, path);
        return;
      }
      case S_IFREG: {
        int fd = openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) Errno("open", path, errno);
        Fd file(fd);
        struct stat now;
        if (fstat(fd, &now) != 0) Errno("fstat", path, errno);
        if (now.st_dev != st.st_dev || now.st_ino != st.st_ino || !S_ISREG(now.st_mode))
          Fail("ECHANGED", "ext4Fill " + path + ": replaced while being read", path);
        ino = MakeFile(dir, name, now, file, path);
        break;
      }
      case S_IFLNK:
        ino = MakeSymlink(dirfd, dir, name, st, path);
        Xattrs(ino, -1, dirfd, name.c_str(), path);
        break;
      case S_IFCHR:
      case S_IFBLK:
      case S_IFIFO:
      case S_IFSOCK:
        ino = MakeSpecial(dir, name, st, path);
        Xattrs(ino, -1, dirfd, name.c_str(), path);
        break;
      default:
        Fail("EINVAL", "ext4Fill " + path + ": an entry of unknown type", path);
    }
    if (shared) links_[{st.st_dev, st.st_ino}] = ino;
  }

  // A name for `ino` in `dir`, the folder made larger when its blocks are full.
  void Link(ext2_ino_t dir, const std::string &name, ext2_ino_t ino, int type, const std::string &path) {
    if (name.size() > EXT2_NAME_LEN)
      Fail("ENAMETOOLONG", "ext4Fill " + path + ": name longer than 255 bytes", path);
    errcode_t err = ext2fs_link(fs_, dir, name.c_str(), ino, type);
    if (err == EXT2_ET_DIR_NO_SPACE) {
      Check(ext2fs_expand_dir(fs_, dir), "expand folder of", path);
      err = ext2fs_link(fs_, dir, name.c_str(), ino, type);
    }
    Check(err, "link", path);
  }

  ext2_ino_t NewInode(ext2_ino_t dir, int mode, const std::string &path) {
    ext2_ino_t ino = 0;
    Check(ext2fs_new_inode(fs_, dir, mode, nullptr, &ino), "new inode for", path);
    inodes++;
    return ino;
  }

  // The inode's owner, permissions and times from `st`, over what libext2fs wrote.
  void Attributes(ext2_ino_t ino, const struct stat &st, const std::string &path) {
    struct ext2_inode_large in;
    Read(ino, in, path);
    Stamp(in, st);
    Write(ino, in, path);
  }

  void Stamp(struct ext2_inode_large &in, const struct stat &st) {
    in.i_mode = static_cast<__u16>((in.i_mode & LINUX_S_IFMT) | (st.st_mode & 07777));
    in.i_uid = static_cast<__u16>(st.st_uid & 0xffff);
    in.osd2.linux2.l_i_uid_high = static_cast<__u16>(st.st_uid >> 16);
    in.i_gid = static_cast<__u16>(st.st_gid & 0xffff);
    in.osd2.linux2.l_i_gid_high = static_cast<__u16>(st.st_gid >> 16);
    bool extra = in.i_extra_isize >= 24;  // up to i_crtime_extra
    SetTime(in.i_mtime, extra ? &in.i_mtime_extra : nullptr, std::min<int64_t>(st.st_mtim.tv_sec, epoch_));
    SetTime(in.i_atime, extra ? &in.i_atime_extra : nullptr, epoch_);
    SetTime(in.i_ctime, extra ? &in.i_ctime_extra : nullptr, epoch_);
    if (extra) SetTime(in.i_crtime, &in.i_crtime_extra, epoch_);
  }

  void Read(ext2_ino_t ino, struct ext2_inode_large &in, const std::string &path) {
    std::memset(&in, 0, sizeof in);
    Check(ext2fs_read_inode_full(fs_, ino, reinterpret_cast<struct ext2_inode *>(&in), sizeof in),
          "read inode of", path);
  }
  void Write(ext2_ino_t ino, struct ext2_inode_large &in, const std::string &path) {
    Check(ext2fs_write_inode_full(fs_, ino, reinterpret_cast<struct ext2_inode *>(&in), sizeof in),
          "write inode of", path);
  }

  // A fresh inode of type `type` (LINUX_S_IF*), stamped from `st`, not yet written.
  struct ext2_inode_large Fresh(int type, const struct stat &st) {
    struct ext2_inode_large in;
    std::memset(&in, 0, sizeof in);
    in.i_mode = static_cast<__u16>(type);
    in.i_links_count = 1;
    in.i_extra_isize = sizeof(struct ext2_inode_large) - EXT2_GOOD_OLD_INODE_SIZE;
    Stamp(in, st);
    return in;
  }

  void HardLink(ext2_ino_t dir, const std::string &name, ext2_ino_t ino, const struct stat &st,
                const std::string &path) {
    struct ext2_inode_large in;
    Read(ino, in, path);
    if (in.i_links_count >= EXT2_LINK_MAX) Fail("EMLINK", "ext4Fill " + path + ": too many hard links", path);
    Link(dir, name, ino, FileType(st.st_mode), path);
    in.i_links_count++;
    Write(ino, in, path);
  }

  static int FileType(mode_t mode) {
    switch (mode & S_IFMT) {
      case S_IFREG:
        return EXT2_FT_REG_FILE;
      case S_IFDIR:
        return EXT2_FT_DIR;
      case S_IFLNK:
        return EXT2_FT_SYMLINK;
      case S_IFCHR:
        return EXT2_FT_CHRDEV;
      case S_IFBLK:
        return EXT2_FT_BLKDEV;
      case S_IFIFO:
        return EXT2_FT_FIFO;
      default:
        return EXT2_FT_SOCK;
    }
  }

  ext2_ino_t MakeFolder(ext2_ino_t dir, const std::string &name, const std::string &path) {
    ext2_ino_t ino = NewInode(dir, LINUX_S_IFDIR | 0755, path);
    // Made unnamed (no lookup of the name: the source folder's names are unique), then linked here.
    Check(ext2fs_mkdir(fs_, dir, ino, nullptr), "mkdir", path);
    Link(dir, name, ino, EXT2_FT_DIR, path);
    return ino;
  }

  ext2_ino_t MakeSymlink(int dirfd, ext2_ino_t dir, const std::string &name, const struct stat &st,
                         const std::string &path) {
    std::vector<char> target(static_cast<size_t>(std::max<off_t>(st.st_size, 0)) + 2);
    ssize_t n = readlinkat(dirfd, name.c_str(), target.data(), target.size());
    if (n < 0) Errno("readlink", path, errno);
    if (static_cast<size_t>(n) >= target.size() - 1 || static_cast<size_t>(n) >= bs_)
      Fail("ECHANGED", "ext4Fill " + path + ": link target changed or too long", path);
    target[static_cast<size_t>(n)] = 0;
    ext2_ino_t ino = NewInode(dir, LINUX_S_IFLNK | 0777, path);
    Check(ext2fs_symlink(fs_, dir, ino, nullptr, target.data()), "symlink", path);
    Link(dir, name, ino, EXT2_FT_SYMLINK, path);
    Attributes(ino, st, path);
    return ino;
  }

  ext2_ino_t MakeSpecial(ext2_ino_t dir, const std::string &name, const struct stat &st,
                         const std::string &path) {
    int type = S_ISCHR(st.st_mode)    ? LINUX_S_IFCHR
               : S_ISBLK(st.st_mode)  ? LINUX_S_IFBLK
               : S_ISFIFO(st.st_mode) ? LINUX_S_IFIFO
                                      : LINUX_S_IFSOCK;
    ext2_ino_t ino = NewInode(dir, type, path);
    struct ext2_inode_large in = Fresh(type, st);
    if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
      // The kernel's two encodings: old (8-bit major and minor) in i_block[0], new in i_block[1].
      unsigned ma = major(st.st_rdev), mi = minor(st.st_rdev);
      if (ma < 256 && mi < 256)
        in.i_block[0] = ma * 256 + mi;
      else
        in.i_block[1] = (mi & 0xff) | (ma << 8) | ((mi & ~0xffu) << 12);
    }
    Write(ino, in, path);
    ext2fs_inode_alloc_stats2(fs_, ino, +1, 0);
    Link(dir, name, ino, FileType(st.st_mode), path);
    return ino;
  }

  // The file's inode, name, blocks and xattrs; its bytes are queued for the copier, which takes `file`.
  ext2_ino_t MakeFile(ext2_ino_t dir, const std::string &name, const struct stat &st, Fd &file,
                      const std::string &path) {
    int fd = file.get();
    ext2_ino_t ino = NewInode(dir, LINUX_S_IFREG | 0644, path);
    struct ext2_inode_large in = Fresh(LINUX_S_IFREG, st);
    auto *small = reinterpret_cast<struct ext2_inode *>(&in);
    Check(ext2fs_inode_size_set(fs_, small, static_cast<ext2_off64_t>(st.st_size)), "size of", path);
    if (ext2fs_has_feature_extents(fs_->super)) {
      in.i_flags |= EXT4_EXTENTS_FL;
      ext2_extent_handle_t h;
      Check(ext2fs_extent_open2(fs_, ino, small, &h), "extents of", path);
      ext2fs_extent_free(h);
    }
    Write(ino, in, path);
    ext2fs_inode_alloc_stats2(fs_, ino, +1, 0);
    Link(dir, name, ino, EXT2_FT_REG_FILE, path);
    Allocate(ino, in, fd, st, path);
    Write(ino, in, path);
    Xattrs(ino, fd, -1, nullptr, path);
    CopyData(ino, in, file, st, path);
    return ino;
  }

  // Blocks for the file's data runs (holes stay holes), in as few extents as the free space allows. A file
  // with as many blocks as bytes has no holes: one run, without asking (two system calls fewer per file).
  void Allocate(ext2_ino_t ino, struct ext2_inode_large &in, int fd, const struct stat &st,
                const std::string &path) {
    auto *small = reinterpret_cast<struct ext2_inode *>(&in);
    off_t size = st.st_size;
    bool whole = static_cast<uint64_t>(st.st_blocks) * 512 >= static_cast<uint64_t>(size);
    for (off_t at = 0; at < size;) {
      off_t data = whole ? 0 : lseek(fd, at, SEEK_DATA);
      if (data < 0 && errno == ENXIO) break;
      if (data < 0) Errno("lseek", path, errno);
      off_t hole = whole ? size : lseek(fd, data, SEEK_HOLE);
      if (hole < 0) Errno("lseek", path, errno);
      hole = std::min(hole, size);
      if (hole <= data) break;
      blk64_t first = static_cast<blk64_t>(data) / bs_;
      blk64_t end = (static_cast<blk64_t>(hole) + bs_ - 1) / bs_;
      blk64_t goal = ext2fs_find_inode_goal(fs_, ino, small, first);
      Check(ext2fs_fallocate(fs_, EXT2_FALLOCATE_FORCE_INIT, ino, small, goal, first, end - first),
            "allocate", path);
      at = hole;
    }
  }

  // Each mapped run's bytes from the source to its blocks in the disk, queued for the copier thread. The
  // blocks were never written and the disk's bytes there are zero (fresh from truncate), so the last block's
  // tail needs no write.
  void CopyData(ext2_ino_t ino, struct ext2_inode_large &in, Fd &file, const struct stat &st,
                const std::string &path) {
    off_t size = st.st_size;
    if (!(in.i_flags & EXT4_EXTENTS_FL) || size == 0) return;
    ext2_extent_handle_t h;
    Check(ext2fs_extent_open2(fs_, ino, reinterpret_cast<struct ext2_inode *>(&in), &h), "extents of", path);
    struct Freer {
      ext2_extent_handle_t h;
      ~Freer() { ext2fs_extent_free(h); }
    } freer{h};
    std::vector<DataCopier::Run> runs;
    struct ext2fs_extent ex;
    errcode_t err = ext2fs_extent_get(h, EXT2_EXTENT_ROOT, &ex);
    while (!err) {
      uint64_t from = ex.e_lblk * uint64_t{bs_};
      if ((ex.e_flags & EXT2_EXTENT_FLAGS_LEAF) && from < static_cast<uint64_t>(size)) {
        uint64_t length = std::min<uint64_t>(uint64_t{ex.e_len} * bs_, static_cast<uint64_t>(size) - from);
        runs.push_back({static_cast<off_t>(from), static_cast<off_t>(offset_ + ex.e_pblk * bs_), length});
      }
      err = ext2fs_extent_get(h, EXT2_EXTENT_NEXT, &ex);
    }
    if (err != EXT2_ET_EXTENT_NO_NEXT && err != EXT2_ET_EXTENT_NO_DOWN) Check(err, "extents of", path);
    if (runs.empty()) return;
    DataCopier::Source source{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino),
                              static_cast<int64_t>(st.st_mtim.tv_sec),
                              static_cast<int64_t>(st.st_mtim.tv_nsec)};
    copier_.Push(file.release(), source, std::move(runs), path);
  }

  // Extended attributes (security.capability, ACLs, ...) of the entry: by its descriptor when open (files
  // and folders), else by name in its folder without following it (symlinks and special files).
  void Xattrs(ext2_ino_t ino, int fd, int dirfd, const char *name, const std::string &path) {
    std::string proc;
    if (fd < 0) proc = "/proc/self/fd/" + std::to_string(dirfd) + "/" + name;
    auto list = [&](char *buf, size_t size) {
      return fd >= 0 ? flistxattr(fd, buf, size) : llistxattr(proc.c_str(), buf, size);
    };
    auto get = [&](const char *key, void *buf, size_t size) {
      return fd >= 0 ? fgetxattr(fd, key, buf, size) : lgetxattr(proc.c_str(), key, buf, size);
    };
    ssize_t size = list(nullptr, 0);
    if (size < 0 && (errno == ENOTSUP || errno == EPERM)) return;
    if (size < 0) Errno("listxattr", path, errno);
    if (size == 0) return;
    std::vector<char> keys(static_cast<size_t>(size));
    size = list(keys.data(), keys.size());
    if (size < 0) Errno("listxattr", path, errno);
    struct ext2_xattr_handle *h = nullptr;
    Check(ext2fs_xattrs_open(fs_, ino, &h), "xattrs of", path);
    struct Closer {
      struct ext2_xattr_handle **h;
      ~Closer() { ext2fs_xattrs_close(h); }
    } closer{&h};
    Check(ext2fs_xattrs_read(h), "xattrs of", path);
    // By name: the cut without root sets the recorded xattrs in that order, and the same calls in the same
    // order give the same bytes.
    std::vector<std::string> names;
    for (ssize_t i = 0; i < size; i += static_cast<ssize_t>(std::strlen(&keys[static_cast<size_t>(i)])) + 1)
      names.emplace_back(&keys[static_cast<size_t>(i)]);
    std::sort(names.begin(), names.end());
    std::vector<char> value;
    for (const std::string &name : names) {
      const char *key = name.c_str();
      ssize_t n = get(key, nullptr, 0);
      if (n < 0) Errno("getxattr", path, errno);
      value.resize(static_cast<size_t>(n) + 1);
      n = get(key, value.data(), value.size());
      if (n < 0) Errno("getxattr", path, errno);
      Check(ext2fs_xattr_set(h, key, value.data(), static_cast<size_t>(n)), "set xattr of", path);
    }
  }

  ext2_filsys fs_;
  DataCopier &copier_;
  uint64_t offset_;
  int64_t epoch_;
  const std::atomic<int32_t> *abort_;
  unsigned bs_;
  std::map<std::pair<dev_t, ino_t>, ext2_ino_t> links_;
};

class Fill : public Napi::AsyncWorker {
 public:
  Fill(Napi::Env env, std::string disk, uint64_t offset, std::string root, int64_t epoch,
       Napi::TypedArray abort, std::optional<DataCopier::Record> base)
      : Napi::AsyncWorker(env),
        deferred_(Napi::Promise::Deferred::New(env)),
        base_(std::move(base)),
        disk_(std::move(disk)),
        offset_(offset),
        root_(std::move(root)),
        epoch_(epoch),
        abortRef_(Napi::Persistent(abort)),
        abort_(reinterpret_cast<std::atomic<int32_t> *>(abort.As<Napi::Int32Array>().Data())) {}

  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    struct stat st;
    if (lstat(root_.c_str(), &st) != 0) return Errno("lstat", root_, errno);
    if (!S_ISDIR(st.st_mode)) return Set("ENOTDIR", "ext4Fill " + root_ + ": not a folder", root_);
    int rootFd = open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (rootFd < 0) return Errno("open", root_, errno);
    Fd rootGuard(rootFd);
    int disk = open(disk_.c_str(), O_WRONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
    if (disk < 0) return Errno("open", disk_, errno);
    Fd diskGuard(disk);
    std::string options = "offset=" + std::to_string(offset_);
    ext2_filsys fs = nullptr;
    errcode_t err = ext2fs_open2(disk_.c_str(), options.c_str(), EXT2_FLAG_RW | EXT2_FLAG_64BITS, 0, 0,
                                 unix_io_manager, &fs);
    if (err) return Set("EEXT2FS", "ext4Fill: open " + disk_ + ": " + error_message(err), disk_);
    // Inodes libext2fs makes itself (folders, symlinks) get this time, and so does the superblock at close.
    fs->now = static_cast<time_t>(epoch_);
    err = ext2fs_read_bitmaps(fs);
    if (err) {
      ext2fs_close_free(&fs);
      return Set("EEXT2FS", "ext4Fill: bitmaps of " + disk_ + ": " + error_message(err), disk_);
    }
    DataCopier copier(disk, base_ ? &*base_ : nullptr);
    Filler filler(fs, copier, offset_, epoch_, abort_);
    bool filled = true;
    try {
      filler.Root(rootFd, st);
    } catch (const Stop &) {
      filled = false;
    }
    DataCopier::Error copyError = copier.Finish();
    if (!filled || !copyError.code.empty()) {
      ext2fs_free(fs);  // nothing more written: the caller removes the disk
      failure_ = copyError.code.empty() ? filler.failure
                                        : Failure{copyError.code, copyError.message, copyError.path};
      return SetError(failure_.message);
    }
    // A lifetime write count of 0 stays 0 at close (libext2fs adds to it only when set): reproducible.
    fs->super->s_kbytes_written = 0;
    // No fsync: the disk is a work file read back from the page cache by the qcow2 writer, and a sync of its
    // ~1 GB of fresh data cost seconds of waiting for the device.
    err = ext2fs_close2(fs, EXT2_FLAG_FLUSH_NO_SYNC);  // frees `fs` when it succeeds
    if (err) ext2fs_free(fs);
    if (err) return Set("EEXT2FS", "ext4Fill: close " + disk_ + ": " + error_message(err), disk_);
    inodes_ = filler.inodes;
    bytes_ = copier.Bytes();
    copied_ = copier.Recorded();
    skipped_ = copier.Skipped();
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::Object r = Napi::Object::New(env);
    r.Set("inodes", Napi::Number::New(env, static_cast<double>(inodes_)));
    r.Set("bytes", Napi::Number::New(env, static_cast<double>(bytes_)));
    auto copied = Napi::BigUint64Array::New(env, copied_.size() * kRecordWords);
    for (size_t i = 0; i < copied_.size(); i++) {
      const DataCopier::Copied &c = copied_[i];
      uint64_t *w = copied.Data() + i * kRecordWords;
      w[0] = c.source.dev;
      w[1] = c.source.ino;
      w[2] = static_cast<uint64_t>(c.source.mtimeSec);
      w[3] = static_cast<uint64_t>(c.source.mtimeNsec);
      w[4] = static_cast<uint64_t>(c.run.from);
      w[5] = static_cast<uint64_t>(c.run.to);
      w[6] = c.run.length;
    }
    r.Set("copied", copied);
    auto same = Napi::Float64Array::New(env, skipped_.size() * 2);
    for (size_t i = 0; i < skipped_.size(); i++) {
      same[2 * i] = static_cast<double>(skipped_[i].first);
      same[2 * i + 1] = static_cast<double>(skipped_[i].first + skipped_[i].second);
    }
    r.Set("same", same);
    deferred_.Resolve(r);
  }

  void OnError(const Napi::Error &) override {
    Napi::Error e = Napi::Error::New(Env(), failure_.message);
    e.Set("code", Napi::String::New(Env(), failure_.code));
    e.Set("path", Napi::String::New(Env(), failure_.path));
    deferred_.Reject(e.Value());
  }

 private:
  void Set(std::string code, std::string message, const std::string &path) {
    failure_ = {std::move(code), std::move(message), path};
    SetError(failure_.message);
  }
  void Errno(const char *call, const std::string &path, int err) {
    Set(ErrnoName(err), std::string(call) + " " + path + ": " + std::strerror(err), path);
  }

  Napi::Promise::Deferred deferred_;
  std::optional<DataCopier::Record> base_;
  DataCopier::Record copied_;
  std::vector<std::pair<uint64_t, uint64_t>> skipped_;
  std::string disk_;
  uint64_t offset_;
  std::string root_;
  int64_t epoch_;
  Napi::Reference<Napi::TypedArray> abortRef_;
  const std::atomic<int32_t> *abort_;
  Failure failure_;
  uint64_t inodes_ = 0;
  uint64_t bytes_ = 0;
};

// A record as another fill returned it (`copied`), sorted as DataCopier keeps it.
DataCopier::Record RecordOf(Napi::Env env, const char *fn, Napi::Value v) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_biguint64_array ||
      v.As<Napi::TypedArray>().ElementLength() % kRecordWords != 0)
    throw ArgTypeError(env, fn, "base", "a BigUint64Array of 7-word runs (a fill's `copied`)", v);
  auto a = v.As<Napi::BigUint64Array>();
  DataCopier::Record r(a.ElementLength() / kRecordWords);
  for (size_t i = 0; i < r.size(); i++) {
    const uint64_t *w = a.Data() + i * kRecordWords;
    r[i] = {{w[0], w[1], static_cast<int64_t>(w[2]), static_cast<int64_t>(w[3])},
            {static_cast<off_t>(w[4]), static_cast<off_t>(w[5]), w[6]}};
  }
  DataCopier::Sort(r);
  return r;
}

// ext4Fill(disk, offset, root, epoch, abort: Int32Array(SharedArrayBuffer)[, base: BigUint64Array])
//   → Promise<{ inodes, bytes, copied: BigUint64Array, same: Float64Array }>.
// Setting abort[0] to non-zero stops the fill at the next entry (error code ABORT_ERR). `copied` records each
// run copied (kRecordWords per run); given back as `base` to the fill of the same partition in a disk that
// another bundle's tree (hard links to the same files) fills, runs of the same file version to the same place
// are skipped: `same` holds their [start, end) byte pairs in the disk, whose bytes are the base disk's.
Napi::Value Ext4Fill(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  const char *fn = "ext4Fill";
  std::string disk = RawPath(env, fn, "disk", info[0]);
  auto offset = static_cast<uint64_t>(IntegerIn(env, fn, "offset", info[1], 0, 9007199254740991.0));
  std::string root = RawPath(env, fn, "root", info[2]);
  auto epoch = static_cast<int64_t>(IntegerIn(env, fn, "epoch", info[3], 0, 253402300799.0));
  if (!info[4].IsTypedArray() || info[4].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
      info[4].As<Napi::TypedArray>().ElementLength() < 1)
    throw ArgTypeError(env, fn, "abort", "an Int32Array of at least one element", info[4]);
  std::optional<DataCopier::Record> base;
  if (info.Length() > 5 && !info[5].IsUndefined()) base = RecordOf(env, fn, info[5]);
  auto *w = new Fill(env, std::move(disk), offset, std::move(root), epoch, info[4].As<Napi::TypedArray>(),
                     std::move(base));
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

}  // namespace

void InitExt4Fill(Napi::Env env, Napi::Object exports) {
  // libext2fs' messages for error_message(); each worker thread loads the addon, the table is added once.
  static std::once_flag once;
  std::call_once(once, initialize_ext2_error_table);
  exports.Set("ext4Fill", Napi::Function::New(env, Ext4Fill));
}

}  // namespace airship
