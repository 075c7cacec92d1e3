#pragma once
// In-memory ByteStream for Bus tests: answers through a FakeEgm, and can fragment reads, drop
// every Nth byte, fail after N writes and close. Handlers are posted, never run inline.

#include <boost/asio/post.hpp>
#include <deque>

#include "floorgate/drivers/sas/byte_stream.hpp"
#include "sas_fake_egm.hpp"

namespace floorgate::drivers::sas::testing {

class FakeStream : public ByteStream {
 public:
  FakeStream(boost::asio::any_io_executor ex, FakeEgm& egm) : ex_(ex), egm_(egm) {}
  int opens = 0;
  int writes = 0;
  std::size_t fragment = 64;   // max bytes per read completion
  int drop_every = 0;          // drop every Nth answer byte (0 = never)
  int fail_after = -1;         // writes that succeed before every later one fails (-1 = never)

  void async_open(Handler h) override {
    ++opens;
    closed_ = false;
    boost::asio::post(ex_, [h = std::move(h)] { h({}); });
  }
  void async_read(ReadHandler h) override {
    read_h_ = std::move(h);
    deliver();
  }
  void async_write_frame(std::span<const std::uint8_t> frame_bytes, Handler h) override {
    const Bytes frame(frame_bytes.begin(), frame_bytes.end());
    ++writes;
    if (closed_ || (fail_after >= 0 && writes > fail_after)) {
      boost::asio::post(ex_, [h = std::move(h)] { h(std::make_error_code(std::errc::io_error)); });
      return;
    }
    if (auto r = egm_.on_poll(frame)) {
      for (std::uint8_t b : Harness::encode(*r)) {
        if (drop_every > 0 && ++byte_count_ % drop_every == 0) continue;
        inbox_.push_back(b);
      }
    }
    boost::asio::post(ex_, [h = std::move(h)] { h({}); });
    deliver();
  }
  void close() override {
    closed_ = true;
    inbox_.clear();
    if (read_h_) {
      auto h = std::move(read_h_);
      read_h_ = nullptr;
      boost::asio::post(ex_, [h = std::move(h)] {
        h(std::make_error_code(std::errc::operation_canceled), {});
      });
    }
  }

 private:
  void deliver() {
    if (!read_h_ || inbox_.empty()) return;
    std::size_t n = std::min(fragment, inbox_.size());
    auto chunk = std::make_shared<std::vector<std::uint8_t>>(inbox_.begin(),
                                                             inbox_.begin() + static_cast<std::ptrdiff_t>(n));
    inbox_.erase(inbox_.begin(), inbox_.begin() + static_cast<std::ptrdiff_t>(n));
    auto h = std::move(read_h_);
    read_h_ = nullptr;
    boost::asio::post(ex_, [this, h = std::move(h), chunk] {
      h({}, *chunk);
      deliver();
    });
  }

  boost::asio::any_io_executor ex_;
  FakeEgm& egm_;
  ReadHandler read_h_;
  std::deque<std::uint8_t> inbox_;
  std::uint64_t byte_count_ = 0;
  bool closed_ = false;
};

}  // namespace floorgate::drivers::sas::testing
