// Engine unit tests: the resume mark and a restart after kill -9. The last poll is kept in the
// bus's resume file, and a restarted gateway re-sends it (the EGM's implied NACK) rather than a
// poll that would implied-ACK an answer never stored: LP 1B, an ordinary long poll an EGM in RTE
// mode answered with an event, never a poll that sets something on the EGM; a mark cut short
// by a kill falls back to a general poll. Manual clock, fake EGMs.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "floorgate/core/limits.hpp"
#include "sas_harness_gtest.hpp"

using namespace floorgate::drivers::sas;
using namespace floorgate::drivers::sas::testing;

// Killed after LP 1B went out (which ACKed the 0x51 that announced the handpay) and before
// the handpay record was durable: the restart must re-send LP 1B (the EGM's implied NACK), not
// a general poll, which would ACK the record and lose the handpay.
TEST(SasEngine, RestartAfterLp1BResendsItAndKeepsTheHandpay) {
  const auto resume = std::filesystem::temp_directory_path() /
                      ("fg-resume-" + std::to_string(::getpid()) + ".txt");
  std::filesystem::remove(resume);
  BusConfig cfg = one_egm_bus();
  cfg.resume_file = resume.string();
  FakeEgm egm;
  const Bytes body = handpay_body();
  {
    Harness h(cfg, {&egm});
    h.engine->start();
    h.run_for(3000);
    h.auto_durable = false;  // the store never confirms: the process dies first
    egm.handpays.push_back(body);
    egm.queue.push_back(0x51);
    h.run_for(2000);
    ASSERT_EQ(egm.acked, std::vector<std::uint8_t>{0x51});  // ACKed by LP 1B itself
    ASSERT_EQ(h.count("handpay.pending"), 1u);              // submitted, not durable
    ASSERT_TRUE(egm.handpays_acked.empty());
    h.engine->stop();
  }
  {
    std::ifstream in(resume);
    std::string mark;
    std::getline(in, mark);
    EXPECT_EQ(mark, "  1 1B 011B");  // address (fixed width), the long poll, its frame
  }
  Harness h2(cfg, {&egm});
  h2.engine->start();
  h2.run_for(3000);
  ASSERT_FALSE(h2.wire.empty());
  ASSERT_GE(h2.wire[0].size(), 2u);
  EXPECT_EQ(h2.wire[0][1], 0x1B);  // the same long poll again
  EXPECT_GE(h2.count("handpay.pending"), 1u);
  EXPECT_EQ(egm.handpays_acked.size(), 1u);
  std::filesystem::remove(resume);
}

namespace {
// Writes a resume mark as a killed gateway leaves it: "  1 cc FRAME" for a long poll to
// address 1 (the frame in hex).
void write_mark(const std::filesystem::path& path, std::uint8_t cmd, const Bytes& frame) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::ofstream out(path);
  out << "  1 " << kHex[cmd >> 4] << kHex[cmd & 0x0F] << ' ';
  for (auto b : frame) out << kHex[b >> 4] << kHex[b & 0x0F];
  out << "\n";
}
}  // namespace

// The same for any long poll of a machine in RTE mode: it may answer a meter read (or any
// other long poll) with an event instead. Killed before that event was durable, the restart
// must re-send that very frame (the EGM's implied NACK: it sends the event again), not a
// general poll, which would ACK the event and lose it.
TEST(SasEngine, RestartAfterAnRteEventAnsweredALongPollResendsThatPoll) {
  const auto resume = std::filesystem::temp_directory_path() /
                      ("fg-resume-lp-" + std::to_string(::getpid()) + ".txt");
  std::filesystem::remove(resume);
  BusConfig cfg = one_egm_bus();
  cfg.resume_file = resume.string();
  cfg.egms[0].real_time_events = true;
  cfg.egms[0].meter_period = std::chrono::seconds(2);
  FakeEgm egm;
  egm.rte_events_on_lp_only = true;
  Bytes lp;
  {
    Harness h(cfg, {&egm});
    h.engine->start();
    h.run_for(3000);
    ASSERT_TRUE(egm.rte);
    h.auto_durable = false;  // the store never confirms: the process dies first
    egm.queue.push_back(0x11);
    for (int i = 0; i < 100 && h.count("door.opened") == 0; ++i) h.run_for(100);
    ASSERT_EQ(h.count("door.opened"), 1u);  // submitted, not durable
    ASSERT_TRUE(egm.acked.empty());
    for (auto it = h.wire.rbegin(); it != h.wire.rend() && lp.empty(); ++it) {
      if (it->size() > 1) lp = *it;  // the long poll the event answered (the last one sent)
    }
    ASSERT_GE(lp.size(), 2u);
    h.engine->stop();
  }
  Harness h2(cfg, {&egm});
  h2.engine->start();
  h2.run_for(3000);
  ASSERT_FALSE(h2.wire.empty());
  EXPECT_EQ(h2.wire[0], lp) << "the first poll after the restart is not the same long poll";
  EXPECT_EQ(h2.count("door.opened"), 1u);
  EXPECT_EQ(egm.acked, std::vector<std::uint8_t>{0x11});
  // The re-sent poll was only for the event: not sent once more after it.
  EXPECT_NE(h2.wire.size() > 2 ? h2.wire[2] : Bytes{}, lp);
  std::filesystem::remove(resume);
}

// A restart's re-sent meter read is answered with data (no event was waiting): the answer is
// dropped, not counted as a part of the link-up snapshot, which reads all of its own parts.
TEST(SasEngine, ARestartsReSentMeterReadDoesNotCutTheLinkUpSnapshotShort) {
  const auto resume = std::filesystem::temp_directory_path() /
                      ("fg-resume-6f-" + std::to_string(::getpid()) + ".txt");
  BusConfig cfg = one_egm_bus();
  cfg.resume_file = resume.string();
  const auto& defaults = floorgate::core::limits::kSasDefaultMeterCodes;
  cfg.egms[0].meter_codes.assign(defaults.begin(), defaults.begin() + 24);  // two 6F polls
  FakeEgm egm;
  // The first of the link-up snapshot's 6F polls, as a mark left by a kill.
  const Bytes lp = build_lp6f(1, std::span(cfg.egms[0].meter_codes).first(12));
  write_mark(resume, 0x6F, lp);
  egm.require_sync = false;  // a machine that was running all along: it answers at once
  Harness h(cfg, {&egm});
  h.engine->start();
  for (int i = 0; i < 100 && h.count("meters.snapshot") == 0; ++i) h.run_for(100);
  ASSERT_FALSE(h.wire.empty());
  EXPECT_EQ(h.wire[0], lp);
  ASSERT_EQ(h.count("meters.snapshot"), 1u);
  std::size_t meter_polls = 0;
  for (const auto& f : h.wire) meter_polls += f.size() > 1 && f[1] == 0x6F;
  // The re-sent one, then the snapshot's own two (24 codes, at most 12 a poll); with the
  // re-sent answer taken for the first part, the snapshot sent one and missed half its codes.
  EXPECT_EQ(meter_polls, 3u);
  std::filesystem::remove(resume);
}

namespace {
// The first frame a starting engine writes when its resume file holds the mark (cmd, frame)
// for address 1, and what the machine saw.
Bytes first_poll_from_mark(std::uint8_t cmd, const Bytes& frame, FakeEgm& egm) {
  const auto resume = std::filesystem::temp_directory_path() /
                      ("fg-resume-mark-" + std::to_string(::getpid()) + ".txt");
  write_mark(resume, cmd, frame);
  BusConfig cfg = one_egm_bus();
  cfg.resume_file = resume.string();
  Harness h(cfg, {&egm});
  h.engine->start();
  h.run_for(500);
  std::filesystem::remove(resume);
  return h.wire.empty() ? Bytes{} : h.wire[0];
}
}  // namespace

// A mark whose head names a long poll that sets something on the EGM (7F: its clock, as it was
// when the mark was written) is not re-sent: a general poll instead.
TEST(SasEngine, ARestartDoesNotReSendAnOldClockSet) {
  Bytes lp{0x01, 0x7F, 0x01, 0x02, 0x20, 0x20, 0x12, 0x00, 0x00};
  append_crc(lp);
  FakeEgm egm;
  EXPECT_EQ(first_poll_from_mark(0x7F, lp, egm), Bytes{0x81});
  EXPECT_EQ(egm.clock_sets, 0);
}

// A mark cut short by a kill (its head from one poll, its frame from another) is not trusted:
// the restart falls back to a general poll to the named address.
TEST(SasEngine, AResumeMarkWhoseFrameDoesNotMatchFallsBackToAGeneralPoll) {
  FakeEgm egm;
  // Another poll's frame under the head.
  EXPECT_EQ(first_poll_from_mark(0x6F, Bytes{0x01, 0x54, 0xAA, 0xBB}, egm), Bytes{0x81});
  // The head and the frame's address and command agree, the CRC does not (a frame cut short
  // by the kill, its end from an older mark).
  Bytes torn = build_lp6f(1, std::span(floorgate::core::limits::kSasDefaultMeterCodes).first(12));
  EXPECT_EQ(first_poll_from_mark(0x6F, torn, egm), torn);  // whole, it is re-sent
  torn[4] ^= 0x01;
  EXPECT_EQ(first_poll_from_mark(0x6F, torn, egm), Bytes{0x81});
}
