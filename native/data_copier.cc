#include "data_copier.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <tuple>

#include "fs_util.h"

namespace airship {

namespace {
// Files waiting at most (twice this open: a batch being copied and the next): bounds the open descriptors
// and how far the tables run ahead of the data.
constexpr size_t kMaxQueued = 256;

// The order of a record, and what makes two runs the same.
auto Key(const DataCopier::Copied &c) {
  return std::tie(c.source.dev, c.source.ino, c.source.mtimeSec, c.source.mtimeNsec, c.run.from, c.run.to,
                  c.run.length);
}
}  // namespace

DataCopier::DataCopier(int disk, const Record *base)
    : disk_(disk), base_(base), thread_([this] { Loop(); }) {}

DataCopier::~DataCopier() { Finish(); }

void DataCopier::Push(int fd, Source source, std::vector<Run> runs, std::string path) {
  std::unique_lock<std::mutex> lock(mu_);
  room_.wait(lock, [this] { return queue_.size() < kMaxQueued; });
  queue_.push_back({fd, source, std::move(runs), std::move(path)});
  // Woken only when asleep: one wake per batch, not one per file (22k files in a root).
  if (idle_) ready_.notify_one();
}

DataCopier::Error DataCopier::Finish() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    closing_ = true;
    ready_.notify_one();
  }
  if (thread_.joinable()) thread_.join();
  return error_;
}

void DataCopier::Loop() {
  std::deque<Job> batch;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      idle_ = true;
      ready_.wait(lock, [this] { return closing_ || !queue_.empty(); });
      idle_ = false;
      if (queue_.empty()) return;
      batch.swap(queue_);
      room_.notify_all();
    }
    for (; !batch.empty(); batch.pop_front()) {
      const Job &job = batch.front();
      Fd file(job.fd);
      if (Failed()) continue;  // after a failure the rest is only closed
      for (const Run &run : job.runs) {
        if (InBase(job, run)) {
          skipped_.emplace_back(static_cast<uint64_t>(run.to), run.length);  // merged by Skipped()
          continue;
        }
        if (!CopyRun(job, run)) break;
        copied_.push_back({job.source, run});
      }
    }
  }
}

bool DataCopier::InBase(const Job &job, const Run &run) const {
  if (!base_) return false;
  Copied want{job.source, run};
  auto it = std::lower_bound(base_->begin(), base_->end(), want,
                             [](const Copied &a, const Copied &b) { return Key(a) < Key(b); });
  return it != base_->end() && Key(*it) == Key(want);
}

void DataCopier::Sort(Record &r) {
  std::sort(r.begin(), r.end(), [](const Copied &a, const Copied &b) { return Key(a) < Key(b); });
}

DataCopier::Record DataCopier::Recorded() {
  Record r = std::move(copied_);
  Sort(r);
  return r;
}

std::vector<std::pair<uint64_t, uint64_t>> DataCopier::Skipped() {
  std::vector<std::pair<uint64_t, uint64_t>> s = std::move(skipped_);
  std::sort(s.begin(), s.end());
  std::vector<std::pair<uint64_t, uint64_t>> merged;
  for (const auto &r : s) {
    if (!merged.empty() && merged.back().first + merged.back().second == r.first)
      merged.back().second += r.second;
    else
      merged.push_back(r);
  }
  return merged;
}

bool DataCopier::CopyRun(const Job &job, Run run) {
  while (run.length > 0) {
    ssize_t n = copy_file_range(job.fd, &run.from, disk_, &run.to, run.length, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP))
      return ByHand(job, run);
    if (n < 0)
      return Fail(ErrnoName(errno), "copy_file_range " + job.path + ": " + std::strerror(errno), job.path);
    if (n == 0) return Fail("ESHRANK", "file shrank while reading: " + job.path, job.path);
    run.length -= static_cast<uint64_t>(n);
    bytes_ += static_cast<uint64_t>(n);
  }
  return true;
}

bool DataCopier::ByHand(const Job &job, Run run) {
  std::vector<char> buf(1 << 20);
  while (run.length > 0) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(run.length, buf.size()));
    ssize_t n = pread(job.fd, buf.data(), want, run.from);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Fail(ErrnoName(errno), "read " + job.path + ": " + std::strerror(errno), job.path);
    if (n == 0) return Fail("ESHRANK", "file shrank while reading: " + job.path, job.path);
    for (ssize_t done = 0; done < n;) {
      ssize_t w = pwrite(disk_, buf.data() + done, static_cast<size_t>(n - done), run.to + done);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0)
        return Fail(ErrnoName(errno), std::string("write (disk): ") + std::strerror(errno), job.path);
      done += w;
    }
    run.from += n;
    run.to += n;
    run.length -= static_cast<uint64_t>(n);
    bytes_ += static_cast<uint64_t>(n);
  }
  return true;
}

bool DataCopier::Fail(const std::string &code, const std::string &message, const std::string &path) {
  error_ = {code, message, path};
  failed_.store(true);
  return false;
}

}  // namespace airship
