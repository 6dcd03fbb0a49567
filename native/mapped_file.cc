// Mapping input files instead of reading them saves copying every byte out of the page cache (about a fifth
// of an lz4 build's CPU time). The price is SIGBUS when a file shrinks while mapped; RunGuarded catches it on
// the thread that touched the page and leaves every other SIGBUS to the handler that was there before.
#include "mapped_file.h"

#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>

#include "fs_util.h"

namespace airship {

MappedRange::MappedRange(Napi::Env env, const std::string &path, uint64_t offset, size_t length) {
  Fd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (fd.get() < 0) throw ErrnoError(env, "open", path, errno);
  struct stat st;
  if (fstat(fd.get(), &st) != 0) throw ErrnoError(env, "stat", path, errno);
  if (static_cast<uint64_t>(st.st_size) < offset + length) throw ShrankError(env, path);
  if (length == 0) return;
  length_ = length;
  void *p = mmap(nullptr, length, PROT_READ, MAP_PRIVATE, fd.get(), static_cast<off_t>(offset));
  if (p == MAP_FAILED) {
    // Some file systems cannot map files (ENODEV): read the range instead.
    copy_.resize(length);
    ReadFully(env, fd.get(), path, copy_.data(), length, offset);
    return;
  }
  madvise(p, length, MADV_SEQUENTIAL);
  addr_ = p;
}

MappedRange::~MappedRange() {
  if (addr_ != nullptr) munmap(addr_, length_);
}

namespace {

struct Guard {
  sigjmp_buf jump;
  const uint8_t *lo;
  size_t len;
};

thread_local Guard *tl_guard = nullptr;
struct sigaction g_previous;
std::once_flag g_installed;

void OnBus(int sig, siginfo_t *info, void *ctx) {
  Guard *g = tl_guard;
  if (g != nullptr) {
    auto addr = static_cast<const uint8_t *>(info->si_addr);
    if (addr >= g->lo && addr < g->lo + g->len) siglongjmp(g->jump, 1);
  }
  // Not ours: hand the signal to whoever had it before (by default, the faulting access kills the process).
  if (g_previous.sa_flags & SA_SIGINFO) {
    if (g_previous.sa_sigaction != nullptr) return g_previous.sa_sigaction(sig, info, ctx);
  } else if (g_previous.sa_handler != SIG_DFL && g_previous.sa_handler != SIG_IGN) {
    return g_previous.sa_handler(sig);
  }
  sigaction(SIGBUS, &g_previous, nullptr);  // the access repeats on return and gets the default action
}

void Install() {
  struct sigaction sa = {};
  sa.sa_sigaction = OnBus;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGBUS, &sa, &g_previous);
}

}  // namespace

bool RunGuarded(const uint8_t *lo, size_t len, void (*fn)(void *), void *arg) {
  std::call_once(g_installed, Install);
  Guard g;
  g.lo = lo;
  g.len = len;
  if (sigsetjmp(g.jump, 1) != 0) {
    tl_guard = nullptr;
    return false;
  }
  tl_guard = &g;
  fn(arg);
  tl_guard = nullptr;
  return true;
}

}  // namespace airship
