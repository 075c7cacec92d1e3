// The real simulator over a real pty, driven with raw bytes: general polls and implied ACK,
// multi-drop, long polls and CRC, reopening the port, garbage input, chirps, TCP, --help,
// scenario files.
#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <regex>

#include "sim_harness.hpp"

using namespace floorgate::sim::testing;
namespace ft = floorgate::testing;

TEST(SimPty, GeneralPollImpliedAckAndLedger) {
  SimProcess sim({"--egm", "1", "--no-chirp"});
  ASSERT_TRUE(sim.ready());
  Host host(sim.pty());
  ASSERT_TRUE(host.ok());
  Control ctl(sim.control());
  ASSERT_TRUE(ctl.ok());

  host.gp(1);
  EXPECT_EQ(host.read(1), Bytes{0x00});
  EXPECT_EQ(ctl.cmd("inject 1 11"), "{\"ok\":true,\"seq\":1}");
  host.gp(0);  // sync poll between: the next 81 is a fresh poll
  host.gp(1);
  EXPECT_EQ(host.read(1), Bytes{0x11});
  host.gp(1);  // implied NACK: same byte again
  EXPECT_EQ(host.read(1), Bytes{0x11});
  host.gp(1);  // final NACK: silence
  EXPECT_TRUE(host.quiet(200));
  auto ledger = ctl.ledger();
  ASSERT_EQ(ledger.size(), 1U);
  EXPECT_NE(ledger[0].find("\"acked\":false,\"acked_at\":null"), std::string::npos);
  host.gp(0);
  host.gp(1);
  EXPECT_EQ(host.read(1), Bytes{0x11});  // still queued after the final NACK
  host.gp(0);
  host.gp(1);
  EXPECT_EQ(host.read(1), Bytes{0x00});
  ledger = ctl.ledger();
  ASSERT_EQ(ledger.size(), 1U);
  std::regex line(R"(\{"address":1,"code":"11","seq":1,"raised_at":\d{13},"acked":true,"acked_at":\d{13}\})");
  EXPECT_TRUE(std::regex_match(ledger[0], line)) << ledger[0];
}

TEST(SimPty, MultiDropAndLongPolls) {
  SimProcess sim({"--egm", "1", "--egm", "2", "--egm", "9", "--no-chirp"});
  ASSERT_TRUE(sim.ready());
  Host host(sim.pty());
  Control ctl(sim.control());
  ASSERT_TRUE(ctl.cmd("inject 9 7A").find("\"ok\":true") != std::string::npos);
  host.gp(1);
  EXPECT_EQ(host.read(1), Bytes{0x00});
  host.gp(9);
  EXPECT_EQ(host.read(1), Bytes{0x7A});
  host.gp(2);
  EXPECT_EQ(host.read(1), Bytes{0x00});
  host.lp({0x01, 0x01, 0x51, 0x08});  // LP01 with the published CRC: ACK
  EXPECT_EQ(host.read(1), Bytes{0x01});
  host.lp({0x02, 0x02, 0x00, 0x00});  // bad CRC: no answer
  EXPECT_TRUE(host.quiet(200));
  host.lp({0x02, 0x1F});
  Bytes id = host.read(24);
  ASSERT_EQ(id.size(), 24U);
  EXPECT_EQ(with_crc(Bytes(id.begin(), id.end() - 2)), id);
  EXPECT_EQ(id[7], 0x01);  // accounting denomination 1 cent
  host.lp({0x09, 0x54});
  Bytes hdr = host.read(3);
  ASSERT_EQ(hdr.size(), 3U);
  Bytes rest = host.read(hdr[2] + 2U);
  hdr.insert(hdr.end(), rest.begin(), rest.end());
  EXPECT_EQ(with_crc(Bytes(hdr.begin(), hdr.end() - 2)), hdr);
  EXPECT_EQ(std::string(hdr.begin() + 3, hdr.begin() + 6), "602");
  host.lp({0x09, 0xEE});  // unknown long poll: silence
  EXPECT_TRUE(host.quiet(200));
  host.gp(0);
  host.gp(9);  // fresh poll: the 7A was ACKed by the LPs in between
  EXPECT_EQ(host.read(1), Bytes{0x00});
  EXPECT_EQ(count_with(ctl.ledger(), "\"acked\":true"), 1);
}

TEST(SimPty, HostMayCloseAndReopenThePort) {
  SimProcess sim({"--no-chirp"});
  ASSERT_TRUE(sim.ready());
  Control ctl(sim.control());
  for (int round = 0; round < 3; ++round) {
    Host host(sim.pty());
    ASSERT_TRUE(host.ok()) << round;
    host.gp(round % 2 ? 0x02 : 0x03);  // breaks any retry chain from the previous round
    host.gp(1);
    // Round 0 has nothing; later rounds see the 12 injected while nobody had the port open.
    EXPECT_EQ(host.read(1), round == 0 ? Bytes{0x00} : Bytes{0x12}) << round;
    host.close();
    // The simulator keeps running with nobody on the port.
    EXPECT_TRUE(sim.running());
    ASSERT_TRUE(ctl.cmd("inject 1 12").find("\"ok\":true") != std::string::npos);
  }
  Host host(sim.pty());
  host.gp(0);
  host.gp(1);
  EXPECT_EQ(host.read(1), Bytes{0x12});
  EXPECT_TRUE(std::filesystem::is_symlink(sim.pty()));
  EXPECT_EQ(count_with(ctl.ledger(), "\"acked\":true"), 2);
  // The slave stays raw across reopen (the harness sets no termios): CR, LF, XOFF, DEL and
  // 0xFF (as FF FF) arrive unchanged.
  for (const char* code : {"0d", "0a", "13", "7f", "ff"}) ctl.cmd(std::string("inject 1 ") + code);
  Bytes seen;
  for (int i = 0; i < 5; ++i) {
    host.gp(0);
    host.gp(1);
    Bytes b = host.read(1);
    seen.insert(seen.end(), b.begin(), b.end());
  }
  EXPECT_EQ(seen, (Bytes{0x0D, 0x0A, 0x13, 0x7F, 0xFF}));
}

TEST(SimPty, RandomBytesNeverCrashAndTheBusResyncs) {
  SimProcess sim({"--egm", "1", "--egm", "2", "--no-chirp"});
  ASSERT_TRUE(sim.ready());
  Host host(sim.pty());
  std::mt19937 rng(1234);
  for (int burst = 0; burst < 40; ++burst) {
    Bytes junk(64);
    for (auto& b : junk) b = static_cast<std::uint8_t>(rng());
    if (burst % 3 == 0) junk.insert(junk.begin() + 10, {0xFF, 0x00, 0x01, 0x2F});  // truncated
    if (burst % 5 == 0) junk.insert(junk.end(), {0xFF, 0x00});                     // half mark
    host.write_raw(junk);
  }
  host.drain(300);
  EXPECT_TRUE(sim.running());
  host.gp(0);  // a wakeup byte resynchronises, and breaks any accidental retry chain
  host.gp(2);
  EXPECT_EQ(host.read(1).size(), 1U);
  host.lp({0x01, 0x1A});
  Bytes credits = host.read(8);
  ASSERT_EQ(credits.size(), 8U);
  EXPECT_EQ(with_crc(Bytes(credits.begin(), credits.end() - 2)), credits);
}

TEST(SimPty, ChirpsAfterFiveSecondsWithoutPolls) {
  SimProcess sim({"--egm", "5"});
  ASSERT_TRUE(sim.ready());
  Host host(sim.pty());
  EXPECT_TRUE(ft::wait_until(
      [&] {
        host.read(1, 100);
        return host.chirps().size() >= 2;
      },
      std::chrono::seconds(15)));
  ASSERT_FALSE(host.chirps().empty());
  EXPECT_EQ(host.chirps()[0], 0x05);
}

TEST(SimPty, TcpLinkSpeaksTheSameStream) {
  int port = ft::free_port();
  SimProcess sim({"--tcp", "127.0.0.1:" + std::to_string(port), "--egm", "3", "--no-chirp"},
                 /*add_pty=*/false);
  ASSERT_TRUE(sim.ready());
  ASSERT_TRUE(ft::wait_until([&] { return ft::port_open(port); }));
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  Host host(fd);
  Control ctl(sim.control());
  ctl.cmd("inject 3 51");
  host.gp(3);
  EXPECT_EQ(host.read(1), Bytes{0x51});
}

TEST(SimPty, HelpDocumentsOptionsAndBadScenarioGivesLineAndColumn) {
  ft::TempDir dir;
  std::string out = (dir / "help.txt").string();
  ft::ChildProcess help({sim_binary(), "--help"}, out);
  EXPECT_EQ(help.wait(), 0);
  std::ifstream in(out);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (const char* opt : {"--pty", "--tcp", "--egm", "--scenario", "--rate", "--seed",
                          "--control", "ledger"}) {
    EXPECT_NE(text.find(opt), std::string::npos) << opt;
  }
  std::string scen = (dir / "bad.yaml").string();
  std::ofstream(scen) << "buses:\n  - pty: /tmp/x\n    machines:\n      - address: 300\n";
  std::string err = (dir / "err.txt").string();
  ft::ChildProcess bad({sim_binary(), "--scenario", scen}, err, err);
  int st = bad.wait();
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 2);
  std::ifstream ein(err);
  std::string etext((std::istreambuf_iterator<char>(ein)), std::istreambuf_iterator<char>());
  EXPECT_NE(etext.find(scen + ":4:18: address"), std::string::npos) << etext;
  std::ofstream(scen) << "buses: [\n";
  ft::ChildProcess syntax({sim_binary(), "--scenario", scen}, err, err);
  syntax.wait();
  std::ifstream ein2(err);
  std::string etext2((std::istreambuf_iterator<char>(ein2)), std::istreambuf_iterator<char>());
  EXPECT_TRUE(std::regex_search(etext2, std::regex(R"(bad\.yaml:\d+:\d+: )"))) << etext2;
}

TEST(SimPty, ScenarioWithTwoBusesAndATimeline) {
  ft::TempDir dir;
  std::string a = (dir / "busA").string(), b = (dir / "busB").string();
  std::string scen = (dir / "floor.yaml").string();
  std::ofstream(scen) << "seed: 3\n"
                         "buses:\n"
                         "  - pty: " << a << "\n"
                         "    chirp: false\n"
                         "    machines:\n"
                         "      - {address: 1, serial: \"12345678\", meters: {coin_in: 5000}}\n"
                         "  - pty: " << b << "\n"
                         "    chirp: false\n"
                         "    machines:\n"
                         "      - {address: 1, denomination: 0x06}\n"
                         "      - {address: 4}\n"
                         "timeline:\n"
                         "  - {at: 100ms, do: door 1 open}\n"
                         "  - {at: +0.2s, do: bill 1:4 20}\n";
  SimProcess sim({"--scenario", scen}, /*add_pty=*/false);
  ASSERT_TRUE(sim.ready());
  ASSERT_TRUE(ft::wait_until([&] {
    return std::filesystem::exists(a) && std::filesystem::exists(b);
  }));
  Control ctl(sim.control());
  ASSERT_TRUE(ft::wait_until([&] { return ctl.ledger().size() == 2; }));
  Host ha(a), hb(b);
  ha.gp(1);
  EXPECT_EQ(ha.read(1), Bytes{0x11});
  hb.gp(4);
  EXPECT_EQ(hb.read(1), Bytes{0x4A});
  hb.gp(1);
  EXPECT_EQ(hb.read(1), Bytes{0x00});
  ha.lp({0x01, 0x11});
  EXPECT_EQ(ha.read(8), with_crc({0x01, 0x11, 0x00, 0x00, 0x50, 0x00}));
  hb.lp({0x01, 0x1F});
  Bytes id = hb.read(24);
  ASSERT_EQ(id.size(), 24U);
  EXPECT_EQ(id[7], 0x06);
  EXPECT_NE(ctl.cmd("meters 1:4").find("\"0B\":2000"), std::string::npos);
}
