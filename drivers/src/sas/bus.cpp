// Bus: the Asio shell around the sans-I/O Engine (stream, two timers, write queue).
#include "floorgate/drivers/sas/bus.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <deque>

#include "floorgate/core/clock.hpp"
#include "floorgate/drivers/sas/engine.hpp"
#include "floorgate/core/loop_site.hpp"

namespace asio = boost::asio;

namespace floorgate::drivers::sas {

struct Bus::Impl : std::enable_shared_from_this<Impl> {
  asio::any_io_executor ex;
  BusConfig cfg;
  EventSink& sink;
  WallClock wall;
  std::unique_ptr<ByteStream> stream;
  std::unique_ptr<Engine> engine;
  // One timer per kind of engine deadline (Engine::next_deadlines). A timer is only ever moved
  // earlier: when the deadline it waits for goes away or moves later (the answer came, the
  // next byte arrived), it fires early and finds nothing due. Cancelling it instead would
  // run a cancelled handler on every poll.
  struct DeadlineTimer {
    explicit DeadlineTimer(const asio::any_io_executor& e) : timer(e) {}
    asio::steady_timer timer;
    std::optional<std::int64_t> armed_at;  // set while a wait is pending
  };
  DeadlineTimer exchange_timer, schedule_timer;
  asio::steady_timer reopen_timer;
  std::function<void(const EgmStatus&)> status_cb;
  bool open = false, running = false, writing = false;
  std::deque<std::vector<std::uint8_t>> writes;

  Impl(asio::any_io_executor e, BusConfig c, EventSink& s, std::unique_ptr<ByteStream> st,
       WallClock w)
      : ex(e), cfg(std::move(c)), sink(s), wall(w ? std::move(w) : WallClock(core::unix_now_ms)),
        stream(std::move(st)), exchange_timer(e), schedule_timer(e), reopen_timer(e) {}

  void make_engine() {
    std::weak_ptr<Impl> weak = weak_from_this();
    Engine::Io io;
    io.write = [weak](std::span<const std::uint8_t> f) {
      if (auto self = weak.lock()) self->write(f);
    };
    io.submit = [this](Event ev, DurableHandler h) { sink.submit(std::move(ev), std::move(h)); };
    io.status_changed = [this](const EgmStatus& st) {
      if (status_cb) status_cb(st);
    };
    io.rearm = [weak] {
      if (auto self = weak.lock()) self->rearm();
    };
    io.steady_ms = core::steady_now_ms;
    io.wall_ms = wall;
    engine = std::make_unique<Engine>(cfg, std::move(io));
  }

  void start() {
    running = true;
    do_open();
    engine->start();
    rearm();
  }

  void stop() {
    running = false;
    engine->stop();
    exchange_timer.timer.cancel();
    schedule_timer.timer.cancel();
    exchange_timer.armed_at.reset();
    schedule_timer.armed_at.reset();
    reopen_timer.cancel();
    stream->close();
    open = false;
    writes.clear();
  }

  void do_open() {
    auto self = shared_from_this();
    stream->async_open([self](std::error_code ec) {
      if (!self->running) return;
      if (ec) return self->schedule_reopen();
      self->open = true;
      self->do_read();
      self->flush();
    });
  }

  void schedule_reopen() {
    open = false;
    writes.clear();
    writing = false;
    reopen_timer.expires_after(std::chrono::seconds(1));
    auto self = shared_from_this();
    reopen_timer.async_wait([self](boost::system::error_code ec) {
      core::LoopSite site("sas.reopen");
      if (ec || !self->running) return;
      self->stream->close();
      self->do_open();
    });
  }

  void do_read() {
    auto self = shared_from_this();
    stream->async_read([self](std::error_code ec, std::span<const std::uint8_t> data) {
      core::LoopSite site("sas.rx");
      if (!self->running) return;
      if (ec) {
        if (ec != std::errc::operation_canceled) self->schedule_reopen();
        return;
      }
      self->engine->on_rx(data);
      self->do_read();
    });
  }

  // While the stream is down frames are dropped: the engine sees timeouts and takes links down.
  // A frame is copied only when it must wait behind another write.
  void write(std::span<const std::uint8_t> f) {
    if (!open) return;
    if (writing || !writes.empty()) {
      writes.emplace_back(f.begin(), f.end());
      return;
    }
    send(f);
  }

  void flush() {
    if (writing || writes.empty() || !open) return;
    const std::vector<std::uint8_t> f = std::move(writes.front());
    writes.pop_front();
    send(f);
  }

  void send(std::span<const std::uint8_t> f) {
    writing = true;
    auto self = shared_from_this();
    stream->async_write_frame(f, [self](std::error_code ec) {
      core::LoopSite site("sas.tx");
      self->writing = false;
      if (!self->running) return;
      if (ec) {
        if (ec != std::errc::operation_canceled) self->schedule_reopen();
        return;
      }
      self->flush();
    });
  }

  void rearm() {
    if (!running) return;
    const auto d = engine->next_deadlines();
    arm(exchange_timer, d.exchange);
    arm(schedule_timer, d.schedule);
  }

  void arm(DeadlineTimer& t, std::optional<std::int64_t> deadline) {
    // No deadline, or a wait pending that ends no later: it fires, and rearm() runs then.
    if (!deadline || (t.armed_at && *t.armed_at <= *deadline)) return;
    t.armed_at = deadline;
    // expires_at cancels a later wait still pending (its handler sees operation_aborted).
    t.timer.expires_at(std::chrono::steady_clock::time_point(std::chrono::milliseconds(*deadline)));
    std::weak_ptr<Impl> weak = weak_from_this();
    t.timer.async_wait([weak, &t](boost::system::error_code ec) {
      auto self = weak.lock();
      core::LoopSite site("sas.timer");
      if (!self || ec || !self->running) return;
      t.armed_at.reset();
      self->engine->on_timer();
      self->rearm();
    });
  }
};

namespace {
std::unique_ptr<ByteStream> stream_for(asio::any_io_executor ex, const BusConfig& cfg) {
  switch (cfg.link) {
    case BusConfig::Link::uart:
      return make_uart_stream(ex, cfg.port, cfg.wakeup_delay, cfg.low_latency);
    case BusConfig::Link::tcp: return make_tcp_stream(ex, cfg.port);
    case BusConfig::Link::pty: break;
  }
  return make_pty_stream(ex, cfg.port);
}
}  // namespace

Bus::Bus(asio::any_io_executor ex, BusConfig cfg, EventSink& sink, WallClock wall)
    : Bus(ex, cfg, sink, stream_for(ex, cfg), std::move(wall)) {}

Bus::Bus(asio::any_io_executor ex, BusConfig cfg, EventSink& sink,
         std::unique_ptr<ByteStream> stream, WallClock wall)
    : impl_(std::make_shared<Impl>(ex, std::move(cfg), sink, std::move(stream), std::move(wall))) {
  impl_->make_engine();
}

Bus::~Bus() {
  if (impl_->running) impl_->stop();
}

void Bus::start() { impl_->start(); }
void Bus::stop() {
  if (impl_->running) impl_->stop();
}
std::vector<EgmStatus> Bus::status() const { return impl_->engine->status(); }

void Bus::visit_status(const std::function<void(const EgmStatus&)>& f) const {
  impl_->engine->visit_status(f);
}

std::string Bus::request_rom_check(const std::string& egm_id) {
  return impl_->engine->request_rom_check(egm_id);
}
void Bus::on_status_change(std::function<void(const EgmStatus&)> cb) { impl_->status_cb = std::move(cb); }

}  // namespace floorgate::drivers::sas
