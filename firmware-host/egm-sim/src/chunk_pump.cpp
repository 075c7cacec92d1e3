#include "link.hpp"

namespace floorgate::sim {

ChunkPump::ChunkPump(boost::asio::io_context& io, std::function<bool(const Bytes&)> write_now)
    : timer_(io), write_now_(std::move(write_now)) {}

void ChunkPump::push(std::vector<Chunk> chunks) {
  for (Chunk& c : chunks) queue_.push_back(std::move(c));
  if (!waiting_) pump();
}

void ChunkPump::clear() { queue_.clear(); }

void ChunkPump::stop() {
  queue_.clear();
  timer_.cancel();
}

void ChunkPump::pump() {
  while (!queue_.empty()) {
    Chunk& c = queue_.front();
    if (c.delay_ms > 0) {
      waiting_ = true;
      timer_.expires_after(std::chrono::milliseconds(c.delay_ms));
      c.delay_ms = 0;
      timer_.async_wait([this](const boost::system::error_code& ec) {
        waiting_ = false;
        if (!ec) pump();
      });
      return;
    }
    Bytes bytes = std::move(c.bytes);
    queue_.pop_front();
    if (!write_now_(bytes)) queue_.clear();
  }
}

}  // namespace floorgate::sim
