// Engine unit tests: the ROM signature check (LP 21) at link-up and on request, a changed
// program as a mismatch across restarts, and a machine that never answers; manual clock, fake
// EGMs.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <string>

#include "sas_harness_gtest.hpp"

using namespace floorgate::drivers::sas;
using namespace floorgate::drivers::sas::testing;

// LP 21 at link-up: the EGM ACKs, the signature arrives on a later general poll and becomes a
// security event; a changed program is a mismatch, also across a gateway restart (rom_file).
TEST(SasEngine, RomSignatureIsCheckedAndAChangedProgramIsAMismatch) {
  const auto rom = std::filesystem::temp_directory_path() /
                   ("fg-rom-" + std::to_string(::getpid()) + ".txt");
  std::filesystem::remove(rom);
  BusConfig cfg = one_egm_bus();
  cfg.rom_file = rom.string();
  cfg.egms[0].rom_check_period = std::chrono::hours(24);
  cfg.egms[0].rom_seed = 0xBEEF;
  FakeEgm egm;
  {
    Harness h(cfg, {&egm});
    h.engine->start();
    h.run_for(8000);
    ASSERT_EQ(h.count("egm.rom_signature"), 1u);
    const std::string a = h.attrs_of("egm.rom_signature");
    EXPECT_NE(a.find("\"seed\":\"0xbeef\""), std::string::npos) << a;
    EXPECT_NE(a.find("\"first\":true"), std::string::npos) << a;
    EXPECT_NE(a.find("\"trigger\":\"link_up\""), std::string::npos) << a;
    const auto* p = reinterpret_cast<const std::uint8_t*>(egm.program.data());
    const std::uint16_t want = crc16_kermit(std::span(p, egm.program.size()), 0xBEEF);
    auto st = h.engine->status()[0];
    ASSERT_TRUE(st.rom_signature.has_value());
    EXPECT_EQ(*st.rom_signature, want);
    EXPECT_FALSE(st.rom_check_running);
    EXPECT_EQ(egm.rom_answer.size(), 0u);  // ACKed by the next poll after it was stored
    EXPECT_EQ(h.events.back().cls, floorgate::drivers::EventClass::security);

    // Same program, on request: no mismatch. Then a new program: mismatch, naming both.
    EXPECT_EQ(h.engine->request_rom_check("egm-1"), "");
    EXPECT_NE(h.engine->request_rom_check("egm-1"), "");  // one at a time
    EXPECT_NE(h.engine->request_rom_check("nope"), "");
    h.run_for(2000);
    EXPECT_EQ(h.count("egm.rom_signature"), 2u);
    EXPECT_EQ(h.count("egm.rom_signature_mismatch"), 0u);
    egm.program = "fake-egm 1.1 (changed)";
    EXPECT_EQ(h.engine->request_rom_check("egm-1"), "");
    h.run_for(2000);
    ASSERT_EQ(h.count("egm.rom_signature_mismatch"), 1u);
    const std::string m = h.attrs_of("egm.rom_signature_mismatch");
    char expected[32];
    std::snprintf(expected, sizeof expected, "\"expected\":\"0x%04x\"", want);
    EXPECT_NE(m.find(expected), std::string::npos) << m;
    EXPECT_EQ(identical_pairs(h.wire), 0u);
    h.engine->stop();
  }
  // Restarted with the same program: known, no mismatch. Changed while the gateway was down:
  // a mismatch at link-up.
  {
    Harness h(cfg, {&egm});
    h.engine->start();
    h.run_for(8000);
    EXPECT_EQ(h.count("egm.rom_signature"), 1u);
    EXPECT_NE(h.attrs_of("egm.rom_signature").find("\"first\":false"), std::string::npos);
    h.engine->stop();
  }
  egm.program = "fake-egm 2.0";
  Harness h(cfg, {&egm});
  h.engine->start();
  h.run_for(8000);
  EXPECT_EQ(h.count("egm.rom_signature_mismatch"), 1u);
  std::filesystem::remove(rom);
}

// No answer to LP 21 (not supported) and a signature that never comes are fault events; the
// link stays up and the machine keeps being polled.
TEST(SasEngine, RomSignatureWithoutAnswerIsAFault) {
  BusConfig cfg = one_egm_bus();
  cfg.egms[0].rom_check_period = std::chrono::hours(24);
  cfg.egms[0].rom_timeout = std::chrono::seconds(5);
  FakeEgm egm;
  egm.rom_supported = false;
  Harness h(cfg, {&egm});
  h.engine->start();
  h.run_for(6000);
  ASSERT_EQ(h.count("egm.rom_signature_failed"), 1u);
  EXPECT_NE(h.attrs_of("egm.rom_signature_failed").find("no answer to LP 21"), std::string::npos);
  EXPECT_TRUE(h.engine->status()[0].link_up);

  FakeEgm slow;
  slow.rom_delay_ms = 60'000;
  Harness h2(cfg, {&slow});
  h2.engine->start();
  h2.run_for(4000);
  EXPECT_TRUE(h2.engine->status()[0].rom_check_running);
  EXPECT_EQ(h2.count("egm.rom_signature_failed"), 0u);
  h2.run_for(6000);
  ASSERT_EQ(h2.count("egm.rom_signature_failed"), 1u);
  EXPECT_NE(h2.attrs_of("egm.rom_signature_failed").find("rom_timeout"), std::string::npos);
  EXPECT_FALSE(h2.engine->status()[0].rom_check_running);
  EXPECT_EQ(h2.count("egm.rom_signature"), 0u);
}
