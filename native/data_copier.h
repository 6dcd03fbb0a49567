// Copies runs of bytes from source files into a disk image on a thread of its own, while the caller goes on
// writing the filesystem's tables: the ext4 fill's metadata (one core) and its data (the kernel's
// copy_file_range) overlap instead of taking turns.
//
// Every copied run is recorded with the version of its source (device, inode, mtime). A later fill of the
// same partition in another bundle (a hard-linked copy of the same tree) is given that record as its base:
// a run of the same source version to the same place is already in the base's disk, so it is skipped and
// reported, and the qcow2 writer reads those bytes from the base's disk instead.
#pragma once
#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace airship {

class DataCopier {
 public:
  struct Run {
    off_t from;  // in the source file
    off_t to;    // in the disk
    uint64_t length;
  };
  // Which version of which file a run came from: the same device, inode and mtime mean the same bytes. A
  // write or truncate moves mtime; nothing in a cut writes into a file of the shared tree and sets its mtime
  // back (the tree's files are replaced, never rewritten: stages/tree-fs.ts, GNU tar without --overwrite).
  // Not ctime: hard-linking the tree for each bundle moves it.
  struct Source {
    uint64_t dev, ino;
    int64_t mtimeSec, mtimeNsec;
  };
  // A run copied by a fill: its source and where it went.
  struct Copied {
    Source source;
    Run run;
  };
  // Copied runs, sorted by source, then place (see Sort).
  using Record = std::vector<Copied>;
  // The order a base is searched in.
  static void Sort(Record &r);
  struct Error {
    std::string code;  // errno name, or ESHRANK; empty when none
    std::string message;
    std::string path;
  };

  // `base`: another fill's record of this partition (its runs are not copied again); may be null.
  DataCopier(int disk, const Record *base);
  ~DataCopier();
  DataCopier(const DataCopier &) = delete;
  DataCopier &operator=(const DataCopier &) = delete;

  // Queues a file's runs; takes `fd` (closed once copied). Waits while many files are queued.
  void Push(int fd, Source source, std::vector<Run> runs, std::string path);
  // Whether a copy failed (the caller stops early; Finish says why).
  bool Failed() const { return failed_.load(std::memory_order_relaxed); }
  // Waits for every queued copy (or drops them after a failure) and ends the thread.
  Error Finish();
  uint64_t Bytes() const { return bytes_.load(); }
  // After Finish: the runs copied, sorted for use as a base.
  Record Recorded();
  // After Finish: [to, to + length) of the runs skipped because the base holds them, in disk order, merged.
  std::vector<std::pair<uint64_t, uint64_t>> Skipped();

 private:
  struct Job {
    int fd;
    Source source;
    std::vector<Run> runs;
    std::string path;
  };
  void Loop();
  bool InBase(const Job &job, const Run &run) const;
  bool CopyRun(const Job &job, Run run);
  bool ByHand(const Job &job, Run run);
  bool Fail(const std::string &code, const std::string &message, const std::string &path);

  int disk_;
  const Record *base_;
  Record copied_;
  std::vector<std::pair<uint64_t, uint64_t>> skipped_;
  std::mutex mu_;
  std::condition_variable ready_, room_;
  std::deque<Job> queue_;
  bool closing_ = false;
  bool idle_ = false;  // the thread waits for work
  std::atomic<bool> failed_{false};
  std::atomic<uint64_t> bytes_{0};
  Error error_;
  std::thread thread_;
};

}  // namespace airship
