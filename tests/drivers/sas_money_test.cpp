// Money against the real simulator (issue 20): tickets, AFT, progressives, bonuses, handpays
// and bills arrive with their amounts and identifiers; meters step down 6F -> 2F -> single
// polls; reconciliation finds a skimmed meter once and nothing on a clean run.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <map>

#include "money_check.hpp"
#include "sas_sim_support.hpp"

using namespace floorgate::drivers::sas;
using namespace floorgate::drivers::sas::testing;
using floorgate::testing::MoneyEvent;

namespace {

std::vector<MoneyEvent> money_events(const RecordingSink& sink) {
  std::vector<MoneyEvent> out;
  for (const auto& e : sink.events) {
    out.push_back({std::stoi(e.egm.substr(e.egm.find('-') + 1)), e.type, e.attrs_json});
  }
  return out;
}

// Runs a control command until the machine accepts it (a money action waits until the host
// read the previous record of its kind), or the time is up.
bool command_until_ok(Rig& rig, Sim& sim, const std::string& cmd) {
  return rig.run_until(
      [&] {
        auto r = sim.control(cmd);
        return !r.empty() && r[0].find("\"ok\":true") != std::string::npos;
      },
      std::chrono::seconds(20));
}

std::vector<const floorgate::drivers::Event*> events_of(const RecordingSink& s, const std::string& type) {
  std::vector<const floorgate::drivers::Event*> out;
  for (const auto& e : s.events) {
    if (e.type == type) out.push_back(&e);
  }
  return out;
}

// Per category, what the settled windows of one machine compared with its meters: the events'
// sum, and whether a window left the category unjudged (an amount unknown).
struct Judged {
  std::uint64_t event_sum = 0;
  std::size_t windows = 0;
  bool unknown = false;
};
std::map<std::string, Judged> judged(const RecordingSink& s, const std::string& egm) {
  std::map<std::string, Judged> out;
  for (const auto* e : events_of(s, "meters.reconciled")) {
    if (e->egm != egm) continue;
    const auto attrs = boost::json::parse(e->attrs_json).as_object();
    for (const auto& [name, line] : attrs.at("categories").as_object()) {
      Judged& j = out[std::string(name)];
      j.event_sum += line.at("event_sum").to_number<std::uint64_t>();
      ++j.windows;
      j.unknown = j.unknown || line.as_object().contains("amount_unknown");
    }
  }
  return out;
}

}  // namespace

// Every money action, on a machine without RTE (facts read with the follow-up long polls) and
// one in RTE mode (bills and bonuses carry their data in the event).
TEST(SasMoney, EveryMoneyEventCarriesItsAmountAndIdentifier) {
  TempDir dir;
  std::string pty = (dir / "bus0").string();
  Sim sim(dir, {"--pty", pty, "--egm", "1", "--egm", "2"});
  ASSERT_TRUE(sim.ready()) << sim.log();
  Rig rig;
  rig.add(BusConfig::Link::pty, pty, {1, 2}, [](BusConfig& c) { c.egms[1].real_time_events = true; });
  rig.start();
  ASSERT_TRUE(rig.run_until([&] { return rig.all_up(); }, std::chrono::seconds(15)));
  for (const char* addr : {"1", "2"}) {
    const std::string a = addr;
    for (const std::string& cmd :
         {"bill " + a + " 20", "bill " + a + " 25", "cashout " + a, "ticket-in " + a + " 12.50",
          "aft " + a + " in 40", "aft " + a + " out 10", "progressive " + a + " 2 150 sas",
          "progressive " + a + " 3 75 machine", "bonus " + a + " 5", "handpay " + a + " 1250",
          "cashout " + a}) {
      EXPECT_TRUE(command_until_ok(rig, sim, cmd)) << cmd;
    }
  }
  ASSERT_TRUE(rig.run_until([&] { return all_acked(sim); }, std::chrono::seconds(30)));
  rig.run_for(std::chrono::milliseconds(500));
  rig.stop();
  auto records = floorgate::testing::money_records(sim.control("ledger"));
  EXPECT_GE(records.size(), 22u);
  auto missing = floorgate::testing::unmatched_money(records, money_events(rig.sink));
  EXPECT_TRUE(missing.empty()) << ::testing::PrintToString(missing);
  // Facts beyond the amount: the ticket's validation record stamps the EGM's own time.
  auto tickets = events_of(rig.sink, "ticket.printed");
  ASSERT_FALSE(tickets.empty());
  EXPECT_TRUE(tickets[0]->ts_egm_ms.has_value());
  EXPECT_NE(tickets[0]->attrs_json.find("\"validation_kind\":\"cashable_ticket\""), std::string::npos)
      << tickets[0]->attrs_json;
  auto afts = events_of(rig.sink, "aft.transfer_complete");
  ASSERT_EQ(afts.size(), 4u);
  EXPECT_NE(afts[0]->attrs_json.find("\"direction\":\"to_egm\""), std::string::npos) << afts[0]->attrs_json;
  // The $25 bill has no code of its own (4F): its value comes from LP 48 without RTE.
  bool lp48 = false;
  for (const auto* b : events_of(rig.sink, "bill.stacked")) {
    lp48 = lp48 || b->attrs_json.find("\"value_source\":\"lp48\"") != std::string::npos;
  }
  EXPECT_TRUE(lp48);
  EXPECT_EQ(rig.sink.count("egm.exception"), 0u);
}

// A machine without enhanced validation (no answer to LP 4D) still reports its tickets with
// amount and (8-digit) validation number through LP 3D.
TEST(SasMoney, TicketsOfAMachineWithoutLp4dAreReadWithLp3d) {
  TempDir dir;
  std::string pty = (dir / "bus0").string();
  Sim sim(dir, {"--pty", pty, "--egm", "1"});
  ASSERT_TRUE(sim.ready()) << sim.log();
  ASSERT_FALSE(sim.control("lacks 1 4D").empty());
  Rig rig;
  rig.add(BusConfig::Link::pty, pty, {1});
  rig.start();
  ASSERT_TRUE(rig.run_until([&] { return rig.all_up(); }, std::chrono::seconds(15)));
  ASSERT_TRUE(command_until_ok(rig, sim, "bill 1 50"));
  ASSERT_TRUE(command_until_ok(rig, sim, "cashout 1"));
  ASSERT_TRUE(rig.run_until([&] { return rig.sink.count("ticket.printed") >= 1; },
                            std::chrono::seconds(20)));
  rig.stop();
  auto t = events_of(rig.sink, "ticket.printed").at(0);
  EXPECT_NE(t->attrs_json.find("\"amount_cents\":5000"), std::string::npos) << t->attrs_json;
  EXPECT_NE(t->attrs_json.find("\"validation\":\"standard\""), std::string::npos) << t->attrs_json;
  auto records = floorgate::testing::money_records(sim.control("ledger"));
  ASSERT_FALSE(records.empty());
  EXPECT_NE(t->attrs_json.find(records.back().ident.substr(8)), std::string::npos);
}

// A machine without 6F/AF is read with 2F; one without 2F either with the single-meter polls;
// one that answers none of them raises meters.unreadable. Each snapshot says where it read.
TEST(SasMoney, MetersStepDownAndUnreadableMetersAreReported) {
  TempDir dir;
  std::string pty = (dir / "bus0").string();
  Sim sim(dir, {"--pty", pty, "--egm", "1", "--egm", "2", "--egm", "3", "--egm", "4"});
  ASSERT_TRUE(sim.ready()) << sim.log();
  for (const char* cmd : {"lacks 2 6F", "lacks 2 AF", "lacks 3 6F", "lacks 3 2F", "lacks 4 6F",
                          "lacks 4 2F", "lacks 4 11", "lacks 4 12", "lacks 4 14", "lacks 4 10",
                          "lacks 4 15", "lacks 4 16", "lacks 4 17", "lacks 4 1A", "lacks 4 13",
                          "lacks 4 46"}) {
    auto r = sim.control(cmd);
    ASSERT_FALSE(r.empty());
    ASSERT_NE(r[0].find("\"ok\":true"), std::string::npos) << cmd << ": " << r[0];
  }
  Rig rig;
  rig.add(BusConfig::Link::pty, pty, {1, 2, 3, 4});
  rig.start();
  auto poll_of = [&](int i) { return rig.status()[static_cast<std::size_t>(i)].meter_poll; };
  ASSERT_TRUE(rig.run_until(
      [&] {
        return poll_of(0) == "6f" && poll_of(1) == "2f" && poll_of(2) == "single" &&
               rig.status()[3].meters_unreadable;
      },
      std::chrono::seconds(60)))
      << poll_of(0) << " " << poll_of(1) << " " << poll_of(2) << " " << poll_of(3);
  rig.stop();
  EXPECT_EQ(rig.sink.count("meters.unreadable"), 1u);
  for (const auto& e : rig.sink.events) {
    if (e.type != "meters.snapshot") continue;
    if (e.egm == "egm-2") {
      EXPECT_NE(e.attrs_json.find("\"poll\":\"2f\""), std::string::npos);
    }
    if (e.egm == "egm-3") {
      EXPECT_NE(e.attrs_json.find("\"poll\":\"single\""), std::string::npos);
      EXPECT_NE(e.attrs_json.find("\"coin_in\""), std::string::npos) << e.attrs_json;
    }
    EXPECT_NE(e.egm, "egm-4") << "a machine without meter polls has no snapshot";
  }
  // The full accounting set on the modern machine: tickets and AFT meters are read.
  EXPECT_EQ(rig.status()[0].meters.count("aft_in_cashable_cents"), 1u);
  EXPECT_EQ(rig.status()[0].meters.count("ticket_out_cashable_cents"), 1u);
}

// Reconciliation: money traffic between settled snapshots reconciles to zero, every category
// judged (AFT in-house and debit, machine-paid progressives and bonuses among them); a meter
// moved without its event (skim) is one reconciliation.mismatch for that machine and category.
TEST(SasMoney, ReconciliationFindsASkimOnceAndNothingElse) {
  TempDir dir;
  std::string pty = (dir / "bus0").string();
  Sim sim(dir, {"--pty", pty, "--egm", "1", "--egm", "2"});
  ASSERT_TRUE(sim.ready()) << sim.log();
  Rig rig;
  rig.add(BusConfig::Link::pty, pty, {1, 2}, [](BusConfig& c) {
    for (auto& e : c.egms) e.meter_period = std::chrono::seconds(1);
  });
  rig.start();
  ASSERT_TRUE(rig.run_until([&] { return rig.all_up(); }, std::chrono::seconds(15)));
  auto reconciled = [&](std::size_t i) { return rig.status()[i].reconciliations; };
  // A baseline and one compared window on both machines.
  ASSERT_TRUE(rig.run_until([&] { return reconciled(0) >= 1 && reconciled(1) >= 1; },
                            std::chrono::seconds(30)));
  for (const char* cmd : {"bill 1 20", "game 1 5 0", "cashout 1", "ticket-in 1 10", "aft 1 in 30",
                          "aft 1 debit 20", "progressive 1 3 75 machine", "handpay 2 1200",
                          "bill 2 100", "aft 2 out 50", "game 2 10 20", "bonus 2 5"}) {
    EXPECT_TRUE(command_until_ok(rig, sim, cmd)) << cmd;
  }
  // Every event has been reported once the machines have nothing unacknowledged; a window that
  // settles after that holds the last of them.
  ASSERT_TRUE(rig.run_until([&] { return all_acked(sim); }, std::chrono::seconds(30)));
  const auto before = reconciled(0), before2 = reconciled(1);
  ASSERT_TRUE(rig.run_until([&] { return reconciled(0) > before && reconciled(1) > before2; },
                            std::chrono::seconds(30)));
  EXPECT_EQ(rig.sink.count("reconciliation.mismatch"), 0u) << [&] {
    std::string s;
    for (const auto* e : events_of(rig.sink, "meters.reconciled")) s += e->attrs_json + "\n";
    return s;
  }();
  // The transfers, the machine-paid progressive and the bonus were judged against their meters
  // (A0 + A6, 1D, 1E), not merely shown.
  auto j1 = judged(rig.sink, "egm-1"), j2 = judged(rig.sink, "egm-2");
  EXPECT_EQ(j1["aft_in"].event_sum, 5000u);
  EXPECT_EQ(j1["progressives"].event_sum, 7500u);
  EXPECT_EQ(j2["bonuses"].event_sum, 500u);
  EXPECT_EQ(j2["aft_out"].event_sum, 5000u);
  for (const auto* j : {&j1["aft_in"], &j1["progressives"], &j2["bonuses"], &j2["aft_out"]}) {
    EXPECT_FALSE(j->unknown);
    EXPECT_GE(j->windows, 1u);
  }
  ASSERT_TRUE(command_until_ok(rig, sim, "skim 1 bills 40"));
  ASSERT_TRUE(command_until_ok(rig, sim, "skim 2 progressives 30"));
  ASSERT_TRUE(rig.run_until([&] { return rig.sink.count("reconciliation.mismatch") >= 2; },
                            std::chrono::seconds(30)));
  const auto after = reconciled(0), after2 = reconciled(1);
  ASSERT_TRUE(rig.run_until([&] { return reconciled(0) >= after + 2 && reconciled(1) >= after2 + 2; },
                            std::chrono::seconds(30)));
  rig.stop();
  auto mismatches = events_of(rig.sink, "reconciliation.mismatch");
  ASSERT_EQ(mismatches.size(), 2u);
  std::sort(mismatches.begin(), mismatches.end(), [](auto* a, auto* b) { return a->egm < b->egm; });
  EXPECT_EQ(mismatches[0]->egm, "egm-1");
  EXPECT_NE(mismatches[0]->attrs_json.find("\"category\":\"bills_in\""), std::string::npos)
      << mismatches[0]->attrs_json;
  EXPECT_NE(mismatches[0]->attrs_json.find("\"difference\":4000"), std::string::npos)
      << mismatches[0]->attrs_json;
  EXPECT_EQ(mismatches[1]->egm, "egm-2");
  EXPECT_NE(mismatches[1]->attrs_json.find("\"category\":\"progressives\""), std::string::npos)
      << mismatches[1]->attrs_json;
  EXPECT_NE(mismatches[1]->attrs_json.find("\"difference\":3000"), std::string::npos)
      << mismatches[1]->attrs_json;
  EXPECT_EQ(rig.status()[0].reconciliation_mismatches, 1u);
  EXPECT_EQ(rig.status()[1].reconciliation_mismatches, 1u);
}
