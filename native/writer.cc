// SquashWriter: writes a SquashFS 4.0 image from blocks compressed elsewhere. JS decides order, dedup and
// settings; this class appends bytes and builds the tables (inodes, directories, fragments, ids, xattrs,
// export).
#include <sqfs/compressor.h>
#include <sqfs/dir_writer.h>
#include <sqfs/error.h>
#include <sqfs/frag_table.h>
#include <sqfs/id_table.h>
#include <sqfs/inode.h>
#include <sqfs/io.h>
#include <sqfs/meta_writer.h>
#include <sqfs/super.h>
#include <sqfs/xattr_writer.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "addon.h"
#include "args.h"
#include "layout.h"
#include "sqfs_util.h"

namespace airship {

static constexpr uint32_t kNoXattr = 0xFFFFFFFF;

// The longest name a SquashFS directory entry holds.
static constexpr size_t kMaxName = 256;

class SquashWriter : public Napi::ObjectWrap<SquashWriter> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "SquashWriter",
                       {
                           InstanceMethod("dataEnd", &SquashWriter::DataEnd),
                           InstanceMethod("adoptData", &SquashWriter::AdoptData),
                           InstanceMethod("addFragment", &SquashWriter::AddFragment),
                           InstanceMethod("addXattrs", &SquashWriter::AddXattrs),
                           InstanceMethod("writeInodes", &SquashWriter::WriteInodes),
                           InstanceMethod("writeDir", &SquashWriter::WriteDir),
                           InstanceMethod("finish", &SquashWriter::Finish),
                           InstanceMethod("close", &SquashWriter::Close),
                       });
  }

  // new SquashWriter(path, {comp, level, blockSize, mkfsTime, ...compressor options})
  explicit SquashWriter(const Napi::CallbackInfo &info) : Napi::ObjectWrap<SquashWriter>(info) {
    Napi::Env env = info.Env();
    const char *fn = "new SquashWriter";
    path_ = StringArg(env, fn, "path", info[0]);
    if (path_.empty() || path_.find('\0') != std::string::npos)
      throw ArgTypeError(env, fn, "path", "a non-empty path without NUL bytes", info[0]);
    Napi::Object opts = ObjectArg(env, fn, "options", info[1]);
    sqfs_compressor_config_t cfg = CompressorConfigFrom(opts, fn);
    uint32_t mkfsTime = OptU32(opts, fn, "mkfsTime", 0);
    int ret = sqfs_super_init(&super_, cfg.block_size, mkfsTime, static_cast<SQFS_COMPRESSOR>(cfg.id));
    Check(env, ret, "initialising the superblock");
    cmp_.reset(ShrinkOnly(MakeCompressor(env, cfg, false, "creating the metadata compressor").release()));
    // No SQFS_FILE_OPEN_OVERWRITE: the file is created with O_EXCL and an existing one is an error, so the
    // writer never writes into a file it did not make.
    errno = 0;
    file_.reset(sqfs_open_file(path_.c_str(), 0));
    if (!file_) Check(env, SQFS_ERROR_IO, "opening the output file");
    Check(env, sqfs_super_write(&super_, file_.get()), "writing the superblock");
    ret = cmp_->write_options(cmp_.get(), file_.get());
    if (ret < 0) Check(env, ret, "writing compressor options");
    if (ret > 0) super_.flags |= SQFS_FLAG_COMPRESSOR_OPTIONS;
    inodes_.reset(sqfs_meta_writer_create(file_.get(), cmp_.get(), SQFS_META_WRITER_KEEP_IN_MEMORY));
    dirs_.reset(sqfs_meta_writer_create(file_.get(), cmp_.get(), SQFS_META_WRITER_KEEP_IN_MEMORY));
    if (!inodes_ || !dirs_) Check(env, SQFS_ERROR_ALLOC, "creating metadata writers");
    dirw_.reset(sqfs_dir_writer_create(dirs_.get(), SQFS_DIR_WRITER_CREATE_EXPORT_TABLE));
    frags_.reset(sqfs_frag_table_create(0));
    ids_.reset(sqfs_id_table_create(0));
    xattrs_.reset(sqfs_xattr_writer_create(0));
    if (!dirw_ || !frags_ || !ids_ || !xattrs_) Check(env, SQFS_ERROR_ALLOC, "creating tables");
  }

 private:
  // errno is read first: after a failed read or write it says why (ENOSPC, EIO, ...).
  void Check(Napi::Env env, int ret, const std::string &what, const std::string &entry = "") {
    const int sysErr = errno;
    if (ret != 0) throw SqfsError(env, ret, what, entry.empty() ? path_ : entry, sysErr);
  }
  // Every method but close() needs the open file and tables, which finish() and close() release.
  void Open(Napi::Env env, const char *method) {
    if (file_) return;
    Napi::Error e = Napi::Error::New(
        env, std::string("SquashWriter.") + method + ": the writer is closed (finished or closed): " + path_);
    e.Set("code", Napi::String::New(env, "ERR_WRITER_CLOSED"));
    e.Set("path", Napi::String::New(env, path_));
    throw e;
  }

  // dataEnd() → where the next data byte goes (after the superblock and anything appended so far).
  Napi::Value DataEnd(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    Open(env, "dataEnd");
    return Napi::Number::New(env, static_cast<double>(file_->get_size(file_.get())));
  }

  // adoptData(end): JS wrote the data region itself (positional writes off the main thread) up to `end`;
  // the tables go after it.
  Napi::Value AdoptData(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    Open(env, "adoptData");
    uint64_t end = SizeArg(env, "SquashWriter.adoptData", "end", info[0]);
    errno = 0;
    Check(env, file_->truncate(file_.get(), end), "taking over the data region");
    return env.Undefined();
  }

  // addFragment(location, sizeWord) → fragment index. JS writes the block itself, among the data blocks;
  // sizeWord carries the "stored uncompressed" bit.
  Napi::Value AddFragment(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    Open(env, "addFragment");
    uint64_t at = SizeArg(env, "SquashWriter.addFragment", "location", info[0]);
    uint32_t word = U32Arg(env, "SquashWriter.addFragment", "sizeWord", info[1]);
    uint32_t index = 0;
    Check(env, sqfs_frag_table_append(frags_.get(), at, word, &index), "recording a fragment");
    return Napi::Number::New(env, index);
  }

  // addXattrs([[key, value], ...], entryPath) → xattr index (identical sets share one index).
  Napi::Value AddXattrs(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    const char *fn = "SquashWriter.addXattrs";
    Open(env, "addXattrs");
    auto pairs = ArrayArg(env, fn, "pairs", info[0]);
    std::string entry = info[1].IsUndefined() ? "" : StringArg(env, fn, "entryPath", info[1]);
    if (pairs.Length() == 0) return Napi::Number::New(env, kNoXattr);
    // Every pair is checked before the set begins: a bad one half-way would leave libsquashfs mid-set.
    std::vector<std::pair<std::string, Napi::Uint8Array>> checked;
    for (uint32_t i = 0; i < pairs.Length(); ++i) {
      const std::string at = "pairs[" + std::to_string(i) + "]";
      Napi::Value pv = pairs.Get(i);
      if (!pv.IsArray() || pv.As<Napi::Array>().Length() != 2)
        throw ArgTypeError(env, fn, at, "a [key, value] pair", pv);
      auto pair = pv.As<Napi::Array>();
      std::string key = StringArg(env, fn, at + "[0]", pair.Get(0u));
      if (key.find('\0') != std::string::npos)
        throw ArgTypeError(env, fn, at + "[0]", "a key without NUL bytes", pair.Get(0u));
      checked.emplace_back(key, TypedArg<uint8_t>(env, fn, at + "[1]", pair.Get(1u)));
    }
    Check(env, sqfs_xattr_writer_begin(xattrs_.get(), 0), "starting an xattr set", entry);
    for (auto &kv : checked) {
      int ret =
          sqfs_xattr_writer_add(xattrs_.get(), kv.first.c_str(), kv.second.Data(), kv.second.ByteLength());
      Check(env, ret, "adding xattr " + kv.first, entry);
    }
    uint32_t index = kNoXattr;
    Check(env, sqfs_xattr_writer_end(xattrs_.get(), &index), "finishing an xattr set", entry);
    return Napi::Number::New(env, index);
  }

  static const double *FieldsOf(Napi::Env env, const Napi::Value &v) {
    auto a = TypedArg<double>(env, "SquashWriter.writeDir", "fields", v);
    if (a.ElementLength() < kFields)
      throw ArgRangeError(env, "SquashWriter.writeDir", "fields", "holds fewer numbers than the INODE slots");
    return a.Data();
  }
  static const char *FieldName(InodeField k) {
    static const char *names[kFields] = {"mode",       "uid",    "gid",   "mtime", "ino",
                                         "nlink",      "xattr",  "size",  "start", "fragIndex",
                                         "fragOffset", "sparse", "devno", "parent"};
    return names[k];
  }
  // A slot's value; NaN, a fraction or a value out of range would be undefined behaviour as a cast.
  static uint32_t U32At(Napi::Env env, const double *f, InodeField k) {
    return static_cast<uint32_t>(At(env, f, k, UINT32_MAX));
  }
  static uint64_t U64At(Napi::Env env, const double *f, InodeField k) {
    return static_cast<uint64_t>(At(env, f, k, kMaxSafe));
  }
  static double At(Napi::Env env, const double *f, InodeField k, double max) {
    if (IsIntegerIn(f[k], 0, max)) return f[k];
    return IntegerIn(env, "SquashWriter", std::string("inode field ") + FieldName(k), f[k], 0, max);
  }

  void FillBase(Napi::Env env, sqfs_inode_generic_t *ino, const double *f) {
    ino->base.mode =
        static_cast<uint16_t>(IntegerIn(env, "SquashWriter", "inode field mode", f[kMode], 0, UINT16_MAX));
    Check(env, sqfs_id_table_id_to_index(ids_.get(), U32At(env, f, kUid), &ino->base.uid_idx),
          "adding a uid");
    Check(env, sqfs_id_table_id_to_index(ids_.get(), U32At(env, f, kGid), &ino->base.gid_idx),
          "adding a gid");
    ino->base.mod_time = U32At(env, f, kMtime);
    ino->base.inode_number = U32At(env, f, kIno);
  }

  uint64_t Emit(Napi::Env env, const sqfs_inode_generic_t *ino) {
    sqfs_u64 block = 0;
    sqfs_u32 offset = 0;
    sqfs_meta_writer_get_position(inodes_.get(), &block, &offset);
    Check(env, sqfs_meta_writer_write_inode(inodes_.get(), ino), "writing an inode");
    return (block << 16) | offset;
  }

  // One non-directory inode; the type comes from the mode bits. payload: a file's block size words or a
  // symlink's target.
  uint64_t WriteLeaf(Napi::Env env, const double *f, const uint8_t *payload, size_t bytes) {
    uint32_t mode = U32At(env, f, kMode);
    uint32_t nlink = U32At(env, f, kNlink);
    uint32_t xattr = U32At(env, f, kXattr);
    bool ext = xattr != kNoXattr;
    if (!S_ISREG(mode) && !S_ISLNK(mode)) bytes = 0;
    // The payload counts go into 32-bit fields: keep well below the wrap.
    if (bytes > (1u << 30))
      throw ArgRangeError(env, "SquashWriter.writeInodes", "payload span", "over 1 GiB");
    std::unique_ptr<sqfs_inode_generic_t, CFree> ino(
        static_cast<sqfs_inode_generic_t *>(std::calloc(1, sizeof(sqfs_inode_generic_t) + bytes + 4)));
    if (!ino) Check(env, SQFS_ERROR_ALLOC, "allocating an inode");
    ino->payload_bytes_available = static_cast<uint32_t>(bytes + 4);
    ino->payload_bytes_used = static_cast<uint32_t>(bytes);
    if (bytes) std::memcpy(ino->extra, payload, bytes);
    FillBase(env, ino.get(), f);
    if (S_ISREG(mode)) {
      uint64_t start = U64At(env, f, kStart), size = U64At(env, f, kSize), sparse = U64At(env, f, kSparse);
      uint32_t fragIndex = U32At(env, f, kFragIndex), fragOffset = U32At(env, f, kFragOffset);
      ext = ext || nlink > 1 || sparse > 0 || start > 0xFFFFFFFFull || size > 0xFFFFFFFFull;
      if (ext) {
        ino->base.type = SQFS_INODE_EXT_FILE;
        ino->data.file_ext = {start, size, sparse, nlink, fragIndex, fragOffset, xattr};
      } else {
        ino->base.type = SQFS_INODE_FILE;
        ino->data.file = {static_cast<uint32_t>(start), fragIndex, fragOffset, static_cast<uint32_t>(size)};
      }
    } else if (S_ISLNK(mode)) {
      ino->base.type = ext ? SQFS_INODE_EXT_SLINK : SQFS_INODE_SLINK;
      ino->data.slink_ext = {nlink, static_cast<uint32_t>(bytes), xattr};
    } else if (S_ISCHR(mode) || S_ISBLK(mode)) {
      bool chr = S_ISCHR(mode);
      ino->base.type =
          chr ? (ext ? SQFS_INODE_EXT_CDEV : SQFS_INODE_CDEV) : (ext ? SQFS_INODE_EXT_BDEV : SQFS_INODE_BDEV);
      ino->data.dev_ext = {nlink, U32At(env, f, kDevno), xattr};
    } else if (S_ISFIFO(mode) || S_ISSOCK(mode)) {
      bool fifo = S_ISFIFO(mode);
      ino->base.type = fifo ? (ext ? SQFS_INODE_EXT_FIFO : SQFS_INODE_FIFO)
                            : (ext ? SQFS_INODE_EXT_SOCKET : SQFS_INODE_SOCKET);
      ino->data.ipc_ext = {nlink, xattr};
    } else {
      throw Napi::TypeError::New(env,
                                 "writeInode: mode " + std::to_string(mode) + " is not a non-directory type");
    }
    return Emit(env, ino.get());
  }

  // writeInodes(fields: Float64Array, spans: Uint32Array, payload: Uint8Array) → Float64Array of inode
  // references. Inode i has its INODE slots at fields[i * INODE.words] and its payload (a file's block size
  // words, a symlink's target) at payload[spans[2i], +spans[2i + 1]). A failure carries the inode's index.
  Napi::Value WriteInodes(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    const char *fn = "SquashWriter.writeInodes";
    Open(env, "writeInodes");
    auto fields = TypedArg<double>(env, fn, "fields", info[0]);
    auto spans = TypedArg<uint32_t>(env, fn, "spans", info[1]);
    auto payload = TypedArg<uint8_t>(env, fn, "payload", info[2]);
    const size_t n = fields.ElementLength() / kFields;
    if (spans.ElementLength() < 2 * n)
      throw ArgRangeError(env, fn, "spans", "holds fewer than two per inode");
    auto refs = Napi::Float64Array::New(env, n);
    for (size_t i = 0; i < n; i++) {
      const size_t at = spans[2 * i], len = spans[2 * i + 1];
      if (at + len > payload.ByteLength())
        throw ArgRangeError(env, fn, "spans", "of inode " + std::to_string(i) + " runs past the payload");
      try {
        refs[i] = static_cast<double>(WriteLeaf(env, fields.Data() + i * kFields, payload.Data() + at, len));
      } catch (Napi::Error &e) {
        e.Set("index", Napi::Number::New(env, static_cast<double>(i)));
        throw;
      }
    }
    return refs;
  }

  // writeDir(names: Uint8Array, nameEnds: Uint32Array, entries: Float64Array, fields: Float64Array) → the
  // directory's inode reference. Entry i is named names[nameEnds[i - 1], nameEnds[i]) and has its inode
  // number, inode reference and mode at entries[3i..3i + 2]; entries must come sorted by name bytes. fields:
  // the directory's INODE slots, parent included. A failing entry's index is on the error.
  Napi::Value WriteDir(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    const char *fn = "SquashWriter.writeDir";
    Open(env, "writeDir");
    auto names = TypedArg<uint8_t>(env, fn, "names", info[0]);
    auto ends = TypedArg<uint32_t>(env, fn, "nameEnds", info[1]);
    auto entries = TypedArg<double>(env, fn, "entries", info[2]);
    const double *f = FieldsOf(env, info[3]);
    const size_t n = ends.ElementLength();
    if (entries.ElementLength() < 3 * n)
      throw ArgRangeError(env, fn, "entries", "holds fewer than three per name");
    if (n > 0 && ends[n - 1] > names.ByteLength())
      throw ArgRangeError(env, fn, "nameEnds", "run past the names");
    Check(env, sqfs_dir_writer_begin(dirw_.get(), 0), "starting a directory");
    std::string name;
    for (size_t i = 0, start = 0; i < n; start = ends[i], i++) {
      if (ends[i] < start) throw ArgRangeError(env, fn, "nameEnds", "out of order");
      name.assign(reinterpret_cast<const char *>(names.Data()) + start, ends[i] - start);
      try {
        // libsquashfs takes the name as a C string and stores its length less one in a byte.
        if (name.empty() || name.size() > kMaxName || name.find('\0') != std::string::npos ||
            name.find('/') != std::string::npos)
          throw ArgRangeError(env, fn, "name " + std::to_string(i),
                              "must be 1 to 256 bytes without '/' or NUL");
        const std::string at = "entries[" + std::to_string(3 * i) + "..]";
        uint32_t ino =
            static_cast<uint32_t>(IntegerIn(env, fn, at + " inode number", entries[3 * i], 0, UINT32_MAX));
        uint64_t ref =
            static_cast<uint64_t>(IntegerIn(env, fn, at + " reference", entries[3 * i + 1], 0, kMaxSafe));
        uint16_t mode =
            static_cast<uint16_t>(IntegerIn(env, fn, at + " mode", entries[3 * i + 2], 0, UINT16_MAX));
        Check(env, sqfs_dir_writer_add_entry(dirw_.get(), name.c_str(), ino, ref, mode),
              "adding a directory entry", name);
      } catch (Napi::Error &e) {
        e.Set("index", Napi::Number::New(env, static_cast<double>(i)));
        throw;
      }
    }
    Check(env, sqfs_dir_writer_end(dirw_.get()), "finishing a directory");
    uint32_t nlink = U32At(env, f, kNlink);
    std::unique_ptr<sqfs_inode_generic_t, SqfsFree> ino(
        sqfs_dir_writer_create_inode(dirw_.get(), nlink, U32At(env, f, kXattr), U32At(env, f, kParent)));
    if (!ino) Check(env, SQFS_ERROR_ALLOC, "creating a directory inode");
    FillBase(env, ino.get(), f);
    // The library derives nlink from its argument its own way; SquashFS wants 2 + subdirectories.
    if (ino->base.type == SQFS_INODE_EXT_DIR)
      ino->data.dir_ext.nlink = nlink;
    else
      ino->data.dir.nlink = nlink;
    return Napi::Number::New(env, static_cast<double>(Emit(env, ino.get())));
  }

  // finish({rootRef, rootIno, inodeCount}) → bytes used. Writes every table and the final superblock.
  Napi::Value Finish(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    const char *fn = "SquashWriter.finish";
    Open(env, "finish");
    Napi::Object d = ObjectArg(env, fn, "root", info[0]);
    const uint64_t rootRef =
        static_cast<uint64_t>(IntegerIn(env, fn, "root.rootRef", d.Get("rootRef"), 0, kMaxSafe));
    const uint32_t rootIno = U32Arg(env, fn, "root.rootIno", d.Get("rootIno"));
    const uint32_t inodeCount = U32Arg(env, fn, "root.inodeCount", d.Get("inodeCount"));
    sqfs_file_t *f = file_.get();
    errno = 0;
    Check(env, sqfs_meta_writer_flush(inodes_.get()), "flushing inodes");
    Check(env, sqfs_meta_writer_flush(dirs_.get()), "flushing directories");
    super_.inode_table_start = f->get_size(f);
    Check(env, sqfs_meta_write_write_to_file(inodes_.get()), "writing the inode table");
    super_.directory_table_start = f->get_size(f);
    Check(env, sqfs_meta_write_write_to_file(dirs_.get()), "writing the directory table");
    Check(env, sqfs_frag_table_write(frags_.get(), f, &super_, cmp_.get()), "writing the fragment table");
    Check(env, sqfs_dir_writer_write_export_table(dirw_.get(), f, cmp_.get(), rootIno, rootRef, &super_),
          "writing the export table");
    Check(env, sqfs_id_table_write(ids_.get(), f, &super_, cmp_.get()), "writing the id table");
    Check(env, sqfs_xattr_writer_flush(xattrs_.get(), f, &super_, cmp_.get()), "writing the xattr table");
    // Only the flags that describe this image: libsquashfs' table writers touch others we do not use.
    uint16_t flags = super_.flags & (SQFS_FLAG_EXPORTABLE | SQFS_FLAG_COMPRESSOR_OPTIONS);
    if (sqfs_frag_table_get_size(frags_.get()) == 0) flags |= SQFS_FLAG_NO_FRAGMENTS;
    if (super_.xattr_id_table_start == 0xFFFFFFFFFFFFFFFFull) flags |= SQFS_FLAG_NO_XATTRS;
    // Same bit mksquashfs sets to say duplicate files were looked for (we do, in JS).
    super_.flags = flags | SQFS_FLAG_NO_DUPLICATES;
    super_.inode_count = inodeCount;
    super_.root_inode_ref = rootRef;
    super_.bytes_used = f->get_size(f);
    // Pad to the device block size as mksquashfs does, so the image can back a loop device.
    uint64_t padded = (super_.bytes_used + 4095) & ~uint64_t(4095);
    if (padded > super_.bytes_used) {
      std::vector<uint8_t> zero(padded - super_.bytes_used, 0);
      Check(env, f->write_at(f, super_.bytes_used, zero.data(), zero.size()), "padding the image");
    }
    Check(env, sqfs_super_write(&super_, f), "writing the superblock");
    double used = static_cast<double>(super_.bytes_used);
    Release();
    return Napi::Number::New(env, used);
  }

  Napi::Value Close(const Napi::CallbackInfo &info) {
    Release();
    return info.Env().Undefined();
  }

  void Release() {
    dirw_.reset();
    inodes_.reset();
    dirs_.reset();
    frags_.reset();
    ids_.reset();
    xattrs_.reset();
    cmp_.reset();
    file_.reset();
  }

  std::string path_;
  sqfs_super_t super_{};
  SqfsPtr<sqfs_compressor_t> cmp_;
  SqfsPtr<sqfs_file_t> file_;
  SqfsPtr<sqfs_meta_writer_t> inodes_;
  SqfsPtr<sqfs_meta_writer_t> dirs_;
  SqfsPtr<sqfs_dir_writer_t> dirw_;
  SqfsPtr<sqfs_frag_table_t> frags_;
  SqfsPtr<sqfs_id_table_t> ids_;
  SqfsPtr<sqfs_xattr_writer_t> xattrs_;
};

void InitWriter(Napi::Env env, Napi::Object exports) {
  exports.Set("SquashWriter", SquashWriter::Define(env));
}

}  // namespace airship
