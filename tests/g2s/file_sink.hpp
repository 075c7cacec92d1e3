#pragma once
// A durable EventSink for the G2S fault suite and benchmark: events are appended to a JSONL
// journal and fdatasync'ed in groups (one fsync per loop turn), then on_durable fires. Used
// only until the real store is wired in; it models the store's commit contract.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/post.hpp>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "floorgate/drivers/event.hpp"
#include "floorgate/drivers/g2s/host.hpp"
#include "floorgate/drivers/json_writer.hpp"

namespace floorgate::g2stest {

class FileSink : public drivers::EventSink {
 public:
  // crash_on: text (a type, or e.g. G2S_onEOD); the process SIGKILLs itself right after
  // committing the first journal line that contains it.
  FileSink(boost::asio::any_io_executor ex, std::string path, std::string crash_on = "")
      : ex_(ex), path_(std::move(path)), crash_on_(std::move(crash_on)) {
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  }
  ~FileSink() override {
    if (fd_ >= 0) ::close(fd_);
  }
  void submit(drivers::Event e, drivers::DurableHandler done) override {
    drivers::JsonWriter w;
    w.add("egm", e.egm).add("type", e.type).add("source", e.source);
    w.add_raw("attrs", e.attrs_json);
    std::string line = std::move(w).finish();
    crash_due_ = crash_due_ || (!crash_on_.empty() && line.find(crash_on_) != std::string::npos);
    buf_ += line;
    buf_ += '\n';
    waiting_.push_back(std::move(done));
    if (!scheduled_) {
      scheduled_ = true;
      boost::asio::post(ex_, [this] { flush(); });
    }
  }
  std::uint64_t committed() const { return seq_; }

  // Dedupe keys of events already in a journal, for HostConfig::recent_keys.
  static std::vector<drivers::g2s::SeenKey> keys(const std::string& path, const std::string& egm) {
    drivers::g2s::SeenKeys out;
    std::ifstream f(path);
    std::string line;
    std::string tag = "{\"egm\":\"" + egm + "\"";
    while (std::getline(f, line)) {
      if (line.rfind(tag, 0) == 0) out.add(line);
    }
    return out.keys();
  }

 private:
  void flush() {
    scheduled_ = false;
    std::size_t off = 0;
    while (off < buf_.size()) {
      auto n = ::write(fd_, buf_.data() + off, buf_.size() - off);
      if (n <= 0) break;
      off += static_cast<std::size_t>(n);
    }
    ::fdatasync(fd_);
    buf_.clear();
    auto handlers = std::move(waiting_);
    waiting_.clear();
    seq_ += handlers.size();
    // Fault injection: die after the commit, before any eventAck can go out.
    if (crash_due_) ::kill(::getpid(), SIGKILL);
    std::uint64_t s = seq_ - handlers.size();
    for (auto& h : handlers) h({}, ++s);
  }

  boost::asio::any_io_executor ex_;
  std::string path_;
  std::string crash_on_;
  bool crash_due_ = false;
  int fd_ = -1;
  std::string buf_;
  std::vector<drivers::DurableHandler> waiting_;
  bool scheduled_ = false;
  std::uint64_t seq_ = 0;
};

}  // namespace floorgate::g2stest
