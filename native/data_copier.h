// Copies runs of bytes from source files into a disk image on a thread of its own, while the caller goes on
// writing the filesystem's tables: the ext4 fill's metadata (one core) and its data (the kernel's
// copy_file_range) overlap instead of taking turns.
#pragma once
#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace airship {

class DataCopier {
 public:
  struct Run {
    off_t from;  // in the source file
    off_t to;    // in the disk
    uint64_t length;
  };
  struct Error {
    std::string code;  // errno name, or ESHRANK; empty when none
    std::string message;
    std::string path;
  };

  explicit DataCopier(int disk);
  ~DataCopier();
  DataCopier(const DataCopier &) = delete;
  DataCopier &operator=(const DataCopier &) = delete;

  // Queues a file's runs; takes `fd` (closed once copied). Waits while many files are queued.
  void Push(int fd, std::vector<Run> runs, std::string path);
  // Whether a copy failed (the caller stops early; Finish says why).
  bool Failed() const { return failed_.load(std::memory_order_relaxed); }
  // Waits for every queued copy (or drops them after a failure) and ends the thread.
  Error Finish();
  uint64_t Bytes() const { return bytes_.load(); }

 private:
  struct Job {
    int fd;
    std::vector<Run> runs;
    std::string path;
  };
  void Loop();
  bool CopyRun(const Job &job, Run run);
  bool ByHand(const Job &job, Run run);
  bool Fail(const std::string &code, const std::string &message, const std::string &path);

  int disk_;
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
