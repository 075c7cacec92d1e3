#include "scan.hpp"

#include <boost/asio/steady_timer.hpp>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "floorgate/drivers/json_writer.hpp"
#include "floorgate/drivers/sas/codec.hpp"
#include "floorgate/drivers/sas/engine.hpp"

namespace asio = boost::asio;
using namespace floorgate::drivers;

namespace floorgate::probe {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kFillerGuard = std::chrono::milliseconds(2);

// What the reads of one address gave.
struct Found {
  std::string version;
  std::set<std::string> serials;
  int reads = 0, valid = 0, crc_errors = 0, garbled = 0, extra_bytes = 0, rte_events = 0, other = 0;
  bool answered() const { return valid + crc_errors + garbled + rte_events + other > 0; }
  // Two machines on one address garble each other's answers (CRC errors, bytes past the end of
  // a frame) or, taking turns, give different serial numbers.
  bool duplicate_suspected() const {
    return serials.size() > 1 || (valid > 0 && crc_errors + garbled + extra_bytes > 0) ||
           crc_errors + garbled >= 2;
  }
};

class Scanner {
 public:
  Scanner(asio::io_context& io, std::unique_ptr<sas::ByteStream> stream, sas::BusConfig::Link link,
          const ScanOptions& opt)
      : io_(io), stream_(std::move(stream)), timer_(io), opt_(opt), addr_(opt.first) {
    reply_ = opt.reply_timeout.count() > 0 ? opt.reply_timeout
                                           : std::chrono::milliseconds(sas::Engine::default_reply_timeout(link));
    gap_ = opt.inter_byte.count() > 0 ? opt.inter_byte
                                      : std::chrono::milliseconds(sas::Engine::default_inter_byte(link));
  }

  int run() {
    stream_->async_open([this](std::error_code ec) {
      if (ec) {
        std::fprintf(stderr, "floorgate-sas-probe: cannot open the port: %s\n", ec.message().c_str());
        open_failed_ = true;
        io_.stop();
        return;
      }
      read();
      exchange(true);
    });
    io_.run();
    if (open_failed_) return -1;
    return summary();
  }

 private:
  void read() {
    stream_->async_read([this](std::error_code ec, std::span<const std::uint8_t> bytes) {
      if (ec || done_) return;
      for (std::uint8_t b : bytes) {
        auto sym = decoder_.push(b);
        if (!sym || !awaiting_ || sym->wakeup) continue;  // chirps and noise between frames
        rx_.push_back(sym->byte);
        last_rx_ = Clock::now();
      }
      if (awaiting_ && !rx_.empty()) arm(last_rx_ + gap_);
      read();
    });
  }

  // Sends LP 54 to the current address; `fresh`: a filler first, so it is not taken as a repeat.
  void exchange(bool fresh) {
    rx_.clear();
    auto send = [this] {
      awaiting_ = true;
      stream_->async_write_frame(sas::build_lp(addr_, 0x54), [this](std::error_code) {
        sent_at_ = Clock::now();
        arm(sent_at_ + reply_);
      });
    };
    if (!fresh) return send();
    static constexpr std::uint8_t kFiller[] = {0x80};
    stream_->async_write_frame(kFiller, [this, send](std::error_code) {
      timer_.expires_after(kFillerGuard);
      timer_.async_wait([send](boost::system::error_code ec) {
        if (!ec) send();
      });
    });
  }

  void arm(Clock::time_point at) {
    timer_.expires_at(at);
    timer_.async_wait([this](boost::system::error_code ec) {
      if (!ec) expired();
    });
  }

  void expired() {
    if (!rx_.empty() && Clock::now() - last_rx_ < gap_) return arm(last_rx_ + gap_);
    awaiting_ = false;
    Found& f = found_[addr_];
    if (nacks_left_ > 0) {
      // Implied NACKs after an RTE event: the second repeat is the final NACK, which leaves
      // the event queued in the machine for the real host.
      --nacks_left_;
      return nacks_left_ > 0 ? exchange(false) : next();
    }
    if (rx_.empty()) return next();
    ++f.reads;
    sas::Expectation exp{addr_, false, 0x54, false};
    sas::ParseResult r = sas::parse_response(exp, rx_, true);
    if (r.status == sas::ParseStatus::complete && r.kind == sas::FrameKind::data) {
      ++f.valid;
      if (rx_.size() > r.length) ++f.extra_bytes;
      std::size_t len = rx_[2];
      if (len >= 3 && rx_.size() >= 5 + len) {
        f.version.assign(rx_.begin() + 3, rx_.begin() + 6);
        f.serials.emplace(rx_.begin() + 6, rx_.begin() + 3 + static_cast<std::ptrdiff_t>(len));
      }
    } else if (r.status == sas::ParseStatus::complete && r.kind == sas::FrameKind::rte_event) {
      ++f.rte_events;
      nacks_left_ = 2;
      return exchange(false);
    } else if (r.status == sas::ParseStatus::complete) {
      ++f.other;  // NACK, BUSY or a lone ACK: something is there
    } else if (r.error == sas::ParseError::bad_crc) {
      ++f.crc_errors;
    } else {
      ++f.garbled;
    }
    next();
  }

  void next() {
    Found& f = found_[addr_];
    if (f.answered() && f.reads <= opt_.confirm_reads) return exchange(true);
    if (f.answered()) print(addr_, f);
    if (addr_ >= opt_.last) {
      done_ = true;
      timer_.cancel();
      stream_->close();
      io_.stop();
      return;
    }
    ++addr_;
    exchange(true);
  }

  static void print(std::uint8_t addr, const Found& f) {
    JsonWriter w;
    w.add("address", static_cast<unsigned>(addr)).add("sas_version", f.version);
    std::string serials;
    for (const auto& s : f.serials) serials += (serials.empty() ? "" : ",") + s;
    w.add("serial", serials).add("reads", f.reads).add("valid", f.valid);
    w.add("crc_errors", f.crc_errors).add("garbled", f.garbled).add("extra_bytes", f.extra_bytes);
    if (f.rte_events > 0) w.add("rte_events_left_queued", f.rte_events);
    w.add("duplicate_suspected", f.duplicate_suspected());
    std::printf("%s\n", std::move(w).finish().c_str());
  }

  int summary() const {
    std::string answering, suspect;
    int n = 0;
    for (const auto& [addr, f] : found_) {
      if (!f.answered()) continue;
      ++n;
      answering += (answering.empty() ? "" : ",") + std::to_string(addr);
      if (f.duplicate_suspected()) suspect += (suspect.empty() ? "" : ",") + std::to_string(addr);
    }
    std::printf("{\"scan\":\"done\",\"first\":%u,\"last\":%u,\"answering\":[%s],"
                "\"duplicate_suspected\":[%s]}\n",
                static_cast<unsigned>(opt_.first), static_cast<unsigned>(opt_.last),
                answering.c_str(), suspect.c_str());
    std::fflush(stdout);
    return n;
  }

  asio::io_context& io_;
  std::unique_ptr<sas::ByteStream> stream_;
  asio::steady_timer timer_;
  ScanOptions opt_;
  std::chrono::milliseconds reply_{}, gap_{};
  std::uint8_t addr_;
  std::map<std::uint8_t, Found> found_;
  sas::RxDecoder decoder_;
  std::vector<std::uint8_t> rx_;
  Clock::time_point sent_at_{}, last_rx_{};
  bool awaiting_ = false, done_ = false, open_failed_ = false;
  int nacks_left_ = 0;
};

}  // namespace

int run_scan(asio::io_context& io, std::unique_ptr<sas::ByteStream> stream,
             sas::BusConfig::Link link, const ScanOptions& opt) {
  Scanner s(io, std::move(stream), link, opt);
  return s.run();
}

}  // namespace floorgate::probe
