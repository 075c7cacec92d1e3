// Bus tests over the in-memory FakeStream: the Asio shell (reads, writes, timer, reopen) with
// fragmented reads, dropped bytes and a failing stream.
#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "floorgate/drivers/sas/bus.hpp"
#include "sas_fake_stream.hpp"

using namespace floorgate::drivers::sas;
using namespace floorgate::drivers::sas::testing;
namespace asio = boost::asio;

namespace {

class ListSink : public floorgate::drivers::EventSink {
 public:
  explicit ListSink(asio::io_context& io) : io_(io) {}
  void submit(floorgate::drivers::Event ev, floorgate::drivers::DurableHandler h) override {
    types.push_back(ev.type);
    asio::post(io_, [h = std::move(h)] { h({}, 1); });
  }
  std::size_t count(const std::string& t) const { return std::count(types.begin(), types.end(), t); }
  std::vector<std::string> types;

 private:
  asio::io_context& io_;
};

struct BusRig {
  asio::io_context io{1};
  asio::executor_work_guard<asio::io_context::executor_type> guard{io.get_executor()};
  ListSink sink{io};
  FakeEgm egm;
  FakeStream* stream = nullptr;
  std::unique_ptr<Bus> bus;
  BusRig() {
    auto s = std::make_unique<FakeStream>(io.get_executor(), egm);
    stream = s.get();
    bus = std::make_unique<Bus>(io.get_executor(), one_egm_bus(), sink, std::move(s));
  }
  bool run_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
    auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end && !pred()) io.run_for(std::chrono::milliseconds(20));
    return pred();
  }
};

}  // namespace

TEST(SasBus, OneByteReadsStillYieldWholeFrames) {
  BusRig r;
  r.stream->fragment = 1;
  r.egm.queue = {0x11, 0x4A};
  std::vector<EgmStatus> changes;
  r.bus->on_status_change([&](const EgmStatus& s) { changes.push_back(s); });
  r.bus->start();
  EXPECT_TRUE(r.run_until([&] { return r.egm.acked.size() == 2 && !r.bus->status()[0].serial.empty(); },
                          std::chrono::seconds(10)));
  r.bus->stop();
  EXPECT_EQ(r.sink.count("door.opened"), 1u);
  EXPECT_EQ(r.sink.count("bill.stacked"), 1u);
  EXPECT_EQ(r.bus->status()[0].crc_errors, 0u);
  EXPECT_FALSE(changes.empty());
}

TEST(SasBus, DroppedBytesAreRetriedAndNothingIsLost) {
  BusRig r;
  r.stream->drop_every = 5;
  r.egm.queue = {0x11, 0x12, 0x28, 0x27};
  r.bus->start();
  EXPECT_TRUE(r.run_until([&] { return r.egm.acked.size() == 4; }, std::chrono::seconds(15)));
  r.bus->stop();
  EXPECT_EQ(r.sink.count("door.opened"), 1u);
  EXPECT_EQ(r.sink.count("door.closed"), 1u);
  EXPECT_EQ(r.sink.count("bill.jam"), 1u);
  EXPECT_EQ(r.sink.count("bill.stacker_full"), 1u);
  EXPECT_GT(r.bus->status()[0].timeouts, 0u);
}

TEST(SasBus, FailingStreamIsReopened) {
  BusRig r;
  r.stream->fail_after = 3;
  r.bus->start();
  EXPECT_TRUE(r.run_until([&] { return r.stream->opens >= 2; }, std::chrono::seconds(5)));
  r.stream->fail_after = -1;
  r.egm.queue = {0x19};
  EXPECT_TRUE(r.run_until([&] { return r.egm.acked.size() == 1; }, std::chrono::seconds(10)));
  r.bus->stop();
  EXPECT_EQ(r.sink.count("door.opened"), 1u);
}

TEST(SasBus, StopNeverBlocksAndIsIdempotent) {
  BusRig r;
  r.bus->start();
  r.io.run_for(std::chrono::milliseconds(300));
  r.bus->stop();
  r.bus->stop();
  std::size_t writes = r.stream->writes;
  r.io.run_for(std::chrono::milliseconds(500));
  EXPECT_EQ(r.stream->writes, writes);
}
