#include "bmx/core/io/output_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <iostream>
#include <mutex>

#include "bmx/core/util/error.h"

namespace bmx {
namespace {

// Temporaries still open, so that SIGINT/SIGTERM can remove them: a fixed table of fixed buffers, because a
// signal handler may only call async-signal-safe functions (unlink) and must not allocate or lock.
constexpr int kMaxLive = 64;
constexpr std::size_t kMaxPath = 4096;
// A slot is claimed (compare-and-swap free -> claimed) before its path is written and only then marked ready, so
// two threads never write one slot and the handler never reads a half-written path.
enum SlotState : int { kFree, kClaimed, kReady };
// Two plain arrays, not an array of {state, path}: those had a dynamic initialiser that wrote every slot's state,
// which faulted in all 256 KiB of paths at the start of every bmx process. Zero is kFree.
std::atomic<int> g_state[kMaxLive];
char g_path[kMaxLive][kMaxPath];
std::once_flag g_handlers_once;
struct sigaction g_previous_int, g_previous_term;

extern "C" void remove_temporaries_and_reraise(int sig) {
  for (int i = 0; i < kMaxLive; ++i)
    if (g_state[i].load() == kReady) ::unlink(g_path[i]);
  sigaction(sig, sig == SIGINT ? &g_previous_int : &g_previous_term, nullptr);
  raise(sig);
}

void install_handlers() {
  std::call_once(g_handlers_once, [] {
    struct sigaction sa {};
    sa.sa_handler = remove_temporaries_and_reraise;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &g_previous_int);
    sigaction(SIGTERM, &sa, &g_previous_term);
  });
}

int register_live(const std::string& path) {
  if (path.size() >= kMaxPath) return -1;
  for (int i = 0; i < kMaxLive; ++i) {
    int expected = kFree;
    if (!g_state[i].compare_exchange_strong(expected, kClaimed)) continue;
    std::memcpy(g_path[i], path.c_str(), path.size() + 1);
    g_state[i].store(kReady);
    return i;
  }
  return -1;  // more than kMaxLive at once: still removed by the destructor, just not on a signal
}

void unregister_live(int slot) {
  if (slot >= 0) g_state[slot].store(kFree);
}

bool is_stdout_path(const std::string& p) { return p.empty() || p == "-"; }

std::string system_reason(int err) { return std::strerror(err); }

std::string folder_of(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string name_of(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

void check_not_an_input(const std::string& output, const std::vector<std::string>& inputs) {
  if (is_stdout_path(output)) return;
  struct stat out {};
  if (::stat(output.c_str(), &out) != 0) return;  // not there yet: cannot be an input
  for (const std::string& in : inputs) {
    if (is_stdout_path(in)) continue;
    struct stat st {};
    if (::stat(in.c_str(), &st) == 0 && st.st_dev == out.st_dev && st.st_ino == out.st_ino)
      throw InputError(output + ": is the input file " + in + "; choose another output");
  }
}

struct OutputFile::Impl {
  std::string path;           // as given
  std::string temporary;      // empty when written in place (stdout, special files)
  std::ofstream file;
  std::ostream* out = nullptr;
  int live_slot = -1;
  bool done = false;

  void remove_temporary() {
    if (file.is_open()) file.close();
    if (!temporary.empty()) ::unlink(temporary.c_str());
    unregister_live(live_slot);
    live_slot = -1;
    temporary.clear();
  }
};

OutputFile::OutputFile(const std::string& path, const std::vector<std::string>& inputs)
    : impl_(std::make_unique<Impl>()) {
  impl_->path = is_stdout_path(path) ? "-" : path;
  if (is_stdout_path(path)) {
    impl_->out = &std::cout;
    return;
  }
  check_not_an_input(path, inputs);
  struct stat st {};
  const bool exists = ::stat(path.c_str(), &st) == 0;
  if (exists && S_ISDIR(st.st_mode)) throw InputError(path + ": is a folder, not a file");
  if (exists && !S_ISREG(st.st_mode)) {
    // A device or FIFO (/dev/stdout, /dev/full, a pipe): written in place, errors still checked at commit.
    impl_->file.open(path, std::ios::binary);
    if (!impl_->file) throw InputError(path + ": cannot write: " + system_reason(errno));
    impl_->out = &impl_->file;
    return;
  }
  install_handlers();
  std::string tmpl = folder_of(path) + "/." + name_of(path) + ".bmx-XXXXXX";
  const int fd = ::mkstemp(tmpl.data());
  if (fd < 0) throw InputError(path + ": cannot create: " + system_reason(errno));
  // mkstemp makes the file 0600; an output gets the mode a plain create would give (0666 less the umask),
  // or the mode of the file it replaces.
  mode_t mode = 0;
  if (exists) {
    mode = st.st_mode & 07777;
  } else {
    const mode_t mask = ::umask(0);
    ::umask(mask);
    mode = 0666 & ~mask;
  }
  ::fchmod(fd, mode);
  ::close(fd);
  impl_->temporary = tmpl;
  impl_->live_slot = register_live(tmpl);
  impl_->file.open(tmpl, std::ios::binary | std::ios::trunc);
  if (!impl_->file) {
    const int err = errno;
    impl_->remove_temporary();
    throw InputError(path + ": cannot create: " + system_reason(err));
  }
  impl_->out = &impl_->file;
}

OutputFile::OutputFile(OutputFile&&) noexcept = default;
OutputFile& OutputFile::operator=(OutputFile&&) noexcept = default;

OutputFile::~OutputFile() {
  if (impl_ && !impl_->done) impl_->remove_temporary();
}

std::ostream& OutputFile::stream() { return *impl_->out; }
bool OutputFile::is_stdout() const { return impl_->path == "-"; }
const std::string& OutputFile::path() const { return impl_->path; }
std::string OutputFile::display_name() const { return is_stdout() ? "stdout" : impl_->path; }

void OutputFile::commit() {
  Impl& m = *impl_;
  if (m.done) return;
  const auto fail = [&](int err) {
    m.remove_temporary();
    m.done = true;
    throw InputError(display_name() + ": write failed" + (err ? ": " + system_reason(err) : std::string()));
  };
  errno = 0;
  m.out->flush();
  if (!*m.out) fail(errno);
  if (is_stdout()) {
    if (std::fflush(stdout) != 0) fail(errno);
    m.done = true;
    return;
  }
  m.file.close();
  if (m.file.fail()) fail(errno);
  if (!m.temporary.empty()) {
    if (::rename(m.temporary.c_str(), m.path.c_str()) != 0) fail(errno);
    unregister_live(m.live_slot);
    m.live_slot = -1;
    m.temporary.clear();
  }
  m.done = true;
}

void OutputFile::discard() {
  if (impl_->done) return;
  if (!is_stdout()) impl_->remove_temporary();
  impl_->done = true;
}

void write_output_file(const std::string& path, const std::string& bytes, const std::vector<std::string>& inputs) {
  OutputFile out(path, inputs);
  out.stream().write(bytes.data(), std::streamsize(bytes.size()));
  out.commit();
}

}  // namespace bmx
