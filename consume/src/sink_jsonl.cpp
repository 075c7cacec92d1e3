// jsonl sink: one line per event to a file (fsynced per batch) or stdout.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include "floorgate/consume/sink.hpp"
#include "lines.hpp"

namespace floorgate::consume {
namespace {

bool write_all(int fd, const std::string& s, std::string& error) {
  std::size_t done = 0;
  while (done < s.size()) {
    ssize_t n = ::write(fd, s.data() + done, s.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      error = std::string("write: ") + std::strerror(errno);
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  return true;
}

class JsonlSink final : public Sink {
 public:
  explicit JsonlSink(std::string path) : path_(std::move(path)) {
    if (path_.empty()) {
      fd_ = STDOUT_FILENO;
      return;
    }
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd_ < 0) open_error_ = "cannot open " + path_ + ": " + std::strerror(errno);
    struct stat st{};
    if (fd_ >= 0 && ::fstat(fd_, &st) == 0) good_size_ = st.st_size;
  }
  ~JsonlSink() override {
    if (fd_ > STDERR_FILENO) ::close(fd_);
  }
  const char* name() const override { return "jsonl"; }
  LoadResult load_positions() override { return {}; }

  CommitResult commit(const std::vector<Delivered>& batch, const Positions&) override {
    if (fd_ < 0) return {false, open_error_, false};
    if (batch.empty()) return {};
    std::string out = jsonl_lines(batch);
    std::string error;
    if (fd_ == STDOUT_FILENO) {
      if (!write_all(fd_, out, error)) return {false, error, false};
      return {};
    }
    // What a failed commit left (part of its lines, or all of them unsynced) is cut before
    // the batch is written again, or the file would hold those events twice.
    struct stat st{};
    if (::fstat(fd_, &st) != 0) return {false, std::string("fstat: ") + std::strerror(errno), false};
    if (st.st_size > good_size_ && ::ftruncate(fd_, good_size_) != 0) {
      return {false, std::string("cutting a failed write: ") + std::strerror(errno), false};
    }
    if (st.st_size < good_size_) {
      // Cut outside (a log rotation's copytruncate): go on from its size, never pad it.
      spdlog::warn("floorgate-consume: {} shrank from {} to {} bytes outside the kit", path_,
                   good_size_, st.st_size);
      good_size_ = st.st_size;
    }
    if (!write_all(fd_, out, error)) return {false, error, false};
    if (::fsync(fd_) != 0) return {false, std::string("fsync: ") + std::strerror(errno), false};
    good_size_ += static_cast<off_t>(out.size());
    return {};
  }

  // The file's size: what the state file saved with the positions covers.
  std::string effect_mark() override {
    struct stat st{};
    if (fd_ == STDOUT_FILENO || fd_ < 0 || ::fstat(fd_, &st) != 0) return {};
    return std::to_string(st.st_size);
  }
  // Lines written after the last saved state (a crash between the fsync and the state file)
  // are cut: their events were not acked and come again.
  void restore_mark(const std::string& mark) override {
    if (mark.empty() || fd_ == STDOUT_FILENO || fd_ < 0) return;
    long long size = -1;
    const auto [end, ec] = std::from_chars(mark.data(), mark.data() + mark.size(), size);
    if (ec != std::errc() || end != mark.data() + mark.size() || size < 0) {
      spdlog::warn("floorgate-consume: the state's mark of {} is not a size ({}); nothing cut",
                   path_, mark);
      return;
    }
    struct stat st{};
    if (::fstat(fd_, &st) == 0 && st.st_size > size) {
      if (::ftruncate(fd_, size) == 0) ::fsync(fd_);
    }
    if (::fstat(fd_, &st) == 0) good_size_ = st.st_size;
  }

 private:
  std::string path_;
  int fd_ = -1;
  std::string open_error_;
  off_t good_size_ = 0;  // the file's size after the last commit that succeeded
};

}  // namespace

std::unique_ptr<Sink> make_jsonl_sink(const std::string& path) {
  return std::make_unique<JsonlSink>(path);
}

}  // namespace floorgate::consume
