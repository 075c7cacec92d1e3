// libFuzzer target: the SAS engine (poll scheduler, implied ACKs, exceptions, long polls,
// handpays, meters, RTE, ROM checks) against a hostile bus. Two EGMs on one bus; every frame the
// engine writes is answered as the input says: nothing, raw bytes, one byte, or a well-formed
// frame (the poll's address and command, input data, a correct CRC) so that the parsers behind
// the CRC are reached. Time moves as the input says. Checks what must hold whatever a machine
// sends: every event's attrs is strict JSON; the engine never stops polling (with the input used
// up and both machines silent, it still writes to the bus) and never busy-waits (a timer that
// sent nothing leaves the next deadline in the future); no crash, leak or UB (sanitizers).
#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "sas_fake_egm.hpp"  // tests/drivers: the engine harness with a manual clock

namespace sas = floorgate::drivers::sas;
using sas::testing::Bytes;
using sas::testing::Harness;

namespace {

struct Input {
  const std::uint8_t* p;
  std::size_t n;
  bool empty() const { return n == 0; }
  std::uint8_t byte() {
    if (n == 0) return 0;
    --n;
    return *p++;
  }
};

sas::BusConfig hostile_bus() {
  sas::BusConfig c = sas::testing::bus_with({1, 2});
  for (auto& e : c.egms) {
    e.poll_period = std::chrono::milliseconds(40);
    e.meter_period = std::chrono::seconds(2);
    e.clock_period = std::chrono::seconds(3);
    e.rom_check_period = std::chrono::seconds(4);
    e.rom_timeout = std::chrono::seconds(1);
  }
  c.egms[1].real_time_events = true;
  c.link_down_after = 5;
  return c;
}

// The answer to `frame` the input chooses, queued on the harness.
void answer(Harness& h, const Bytes& frame, Input& in) {
  const std::uint8_t c = in.byte();
  const std::int64_t delay = in.byte() % 40;
  Bytes reply;
  switch (c % 4) {
    case 0:
      return;  // silence
    case 1: {  // raw bytes, PARMRK escapes and line errors included
      const std::size_t len = in.byte() % 32;
      for (std::size_t i = 0; i < len && !in.empty(); ++i) reply.push_back(in.byte());
      h.arrive(h.now + delay, std::move(reply));
      return;
    }
    case 2:  // one byte: an exception code, an ACK, a NACK
      reply.push_back(in.byte());
      break;
    default: {  // a frame with a correct CRC
      const std::uint8_t addr = frame.empty() ? 1 : frame[0] & 0x7F;
      reply.push_back((c & 0x40) ? in.byte() : addr);
      reply.push_back(frame.size() > 1 && !(c & 0x20) ? frame[1] : in.byte());
      const std::size_t len = in.byte() % 48;
      for (std::size_t i = 0; i < len && !in.empty(); ++i) reply.push_back(in.byte());
      sas::append_crc(reply);
      break;
    }
  }
  h.arrive(h.now + delay, Harness::encode(reply));
}

void check_events(const Harness& h, std::size_t& checked) {
  for (; checked < h.events.size(); ++checked) {
    boost::system::error_code ec;
    boost::json::parse(h.events[checked].attrs_json, ec);
    if (ec || h.events[checked].type.empty()) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Input in{data, size};
  Harness h(hostile_bus(), {});
  h.engine->start();
  std::size_t answered = 0, checked = 0;
  // At most a few thousand steps: each input byte is used once, and every step uses one.
  for (int step = 0; step < 4096 && !in.empty(); ++step) {
    const std::uint8_t t = in.byte();
    if (t & 0x80) h.fail_with = (t & 0x40) ? std::make_error_code(std::errc::io_error)
                                           : std::error_code{};
    h.run_for(1 + (t & 0x3F));
    for (; answered < h.wire.size(); ++answered) answer(h, h.wire[answered], in);
    check_events(h, checked);
  }
  // The input is used up: the machines say nothing more, the store works again. The engine
  // must go on polling (a machine that went quiet is polled for its link to come back).
  h.fail_with = {};
  h.run_for(5'000);
  const std::size_t before = h.wire.size();
  h.run_for(2'000);
  if (h.wire.size() == before) std::abort();
  check_events(h, checked);
  if (h.spins != 0) std::abort();  // due again at once after a timer that sent nothing
  h.engine->stop();
  return 0;
}
