#include "options.hpp"

#include <charconv>
#include <map>

#include "amounts.hpp"

namespace floorgate::sim {

std::string usage() {
  return R"(usage: floorgate-egm-sim [OPTIONS]
Virtual SAS gaming machines (EGMs) on ptys or TCP, for floorgate tests and demos.

Links (each --pty/--tcp starts a new bus; the --egm options after it put machines on it):
  --pty PATH          serve a bus on a new pseudo-terminal; its slave is symlinked at PATH.
                      The 9th (wakeup) bit travels in-band as on a PARMRK UART:
                      FF 00 X = X with the wakeup bit, FF FF = data byte FF (both directions)
  --tcp HOST:PORT     serve a bus on a TCP listener instead (same byte stream, one host)
  --egm ADDR          a machine at SAS address ADDR (1..127); repeat for a multi-drop bus
                      (the same ADDR twice needs --shared-address)
  --shared-address    allow two machines at one address (a commissioning fault): both
                      answer, their bytes collide (OR-ed); serials SIM<ADDR>, SIM<ADDR>-2
                      (default: one machine at address 1)
  --scenario FILE     YAML file with buses, machines (address, denomination, serial, meters)
                      and a timeline of control commands; errors are reported as file:line:col
Behaviour:
  --rate N            random floor traffic: N events/s per machine (games, bills, doors)
  --money             random traffic also moves money: cash-out tickets, tickets in, AFT in
                      and out, handpays, progressives, bonuses (all in the ledger with
                      their amounts and identifiers)
  --seed N            seed of all randomness (traffic, fault injection); default 1
  --sync-required     machines ignore polls until they saw a poll to another address or a
                      broadcast (again after each link loss)
  --rte               machines start in real-time event mode (as a previous host left them)
  --no-chirp          never chirp (default: chirp after 5 s without a valid poll, every 200 ms)
  --queue N           exception FIFO depth (default 25); overflow raises 0x70
  --overflow MODE     what an overflow drops: oldest (default) or newest
  --denom CODE        accounting denomination, Table C-4 hex code (default 01 = 1 cent)
  --control PATH      Unix stream socket for control commands (below)
  --help              this text

Control socket: one command per line, one JSON line per answer ({"ok":false,"error":..} on
error). ADDR is a decimal SAS address, or BUS:ADDR (0-based bus index) with several buses.
  inject ADDR CODE            raise exception CODE (hex, e.g. "inject 1 11")
  bill ADDR DOLLARS           stack a bill ($1..$1000): exception + bill meters
  handpay ADDR AMOUNT         non-progressive handpay of AMOUNT dollars ("1250.00"): 51 + LP 1B
  game ADDR BET WIN           play one game (credits): 7E, 7F, coin-in/out meters
  door ADDR open|close        slot door 11 / 12
  power-cycle ADDR [ram-clear] [off=MS]   power loss/return: 18 then 17 (+7A, meters zeroed)
  fault ADDR KIND VALUE       crc|drop|dup RATE(0..1), delay|gap MS, silent|busy 0|1, clear 0
  rte ADDR on|off             switch real-time event mode (as another host's LP 0E would)
  clock ADDR SECONDS          the machine's clock that far off real time (LP 7F sets it)
  program ADDR TEXT           new machine software: LP 21 ROM signatures change
  cashout ADDR                print a ticket for the credits on the machine: 3D + LP 4D
  ticket-in ADDR AMOUNT       a ticket redeemed (authorised elsewhere): 67, 68 + LP 70/71
  aft ADDR in|debit|out AMOUNT  an AFT transfer: in-house or debit to the machine, in-house to
                              the host: 69 + LP 72
  progressive ADDR LEVEL AMOUNT [sas|machine]   a progressive hit: 56 + LP 85 (sas, default)
                              or machine-paid 54 + LP 84
  bonus ADDR AMOUNT           a legacy bonus award: 7C + LP 90 (RTE: the event carries it)
  skim ADDR CATEGORY AMOUNT   move a meter without its event (bills, tickets_in, tickets_out,
                              aft_in, aft_out, handpaid, progressives, bonuses: dollars;
                              games: a count)
  lacks ADDR LP [off]         stop (or with off, resume) answering long poll LP (hex), e.g.
                              "lacks 1 6F" then "lacks 1 AF" for a machine without 6F/AF
  money on|off                random traffic with or without money actions (see --money)
  meters ADDR                 the machine's meters as JSON (keys = LP 2F meter codes, hex)
  status                      buses, addresses and counters
  ledger                      one JSON line per raised exception:
                              {"address":1,"code":"11","seq":7,"raised_at":<unix ms>,
                               "acked":true,"acked_at":<unix ms or null>}
                              (plus "dropped":true if lost in an overflow, and
                              "amount_cents", "ident" for money), then {"end":true}
)";
}

namespace {

bool parse_u64(const std::string& s, std::uint64_t& v) {
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  return r.ec == std::errc{} && r.ptr == s.data() + s.size();
}

}  // namespace

bool parse_options(const std::vector<std::string>& args, Options& out, std::string& error) {
  std::vector<MachineConfig> early;  // --egm before any --pty/--tcp
  MachineConfig proto;
  bool sync_required = false, chirp = true;
  auto value = [&](std::size_t& i, std::string& v) {
    if (i + 1 >= args.size()) {
      error = args[i] + " needs a value";
      return false;
    }
    v = args[++i];
    return true;
  };
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    std::string v;
    if (a == "--help" || a == "-h") {
      out.help = true;
    } else if (a == "--sync-required") {
      sync_required = true;
    } else if (a == "--rte") {
      proto.rte = true;
    } else if (a == "--money") {
      out.sim.money = true;
    } else if (a == "--no-chirp") {
      chirp = false;
    } else if (a == "--shared-address") {
      out.sim.shared_addresses = true;
    } else if (a == "--pty" || a == "--tcp") {
      if (!value(i, v)) return false;
      BusConfig b;
      b.kind = a.substr(2);
      b.target = v;
      out.sim.buses.push_back(b);
    } else if (a == "--egm") {
      if (!value(i, v)) return false;
      auto n = parse_uint(v);
      if (!n || *n == 0 || *n > 127) {
        error = "--egm: address must be 1..127, got '" + v + "'";
        return false;
      }
      MachineConfig m;
      m.address = static_cast<std::uint8_t>(*n);
      (out.sim.buses.empty() ? early : out.sim.buses.back().machines).push_back(m);
    } else if (a == "--scenario" || a == "--control") {
      if (!value(i, v)) return false;
      (a == "--scenario" ? out.scenario : out.sim.control_path) = v;
    } else if (a == "--rate") {
      if (!value(i, v)) return false;
      double r = 0;
      auto res = std::from_chars(v.data(), v.data() + v.size(), r);
      if (res.ec != std::errc{} || res.ptr != v.data() + v.size() || r < 0 || r > 1000) {
        error = "--rate: expected events/s per machine (0..1000), got '" + v + "'";
        return false;
      }
      out.sim.rate = r;
      out.rate_set = true;
    } else if (a == "--seed") {
      if (!value(i, v) || !parse_u64(v, out.sim.seed)) {
        if (error.empty()) error = "--seed: expected an unsigned integer";
        return false;
      }
      out.seed_set = true;
    } else if (a == "--queue") {
      std::uint64_t q = 0;
      if (!value(i, v) || !parse_u64(v, q) || q == 0 || q > 10000) {
        if (error.empty()) error = "--queue: expected 1..10000";
        return false;
      }
      proto.queue_capacity = q;
    } else if (a == "--overflow") {
      if (!value(i, v)) return false;
      if (v != "oldest" && v != "newest") {
        error = "--overflow: expected oldest or newest";
        return false;
      }
      proto.overflow = v == "oldest" ? OverflowPolicy::kDropOldest : OverflowPolicy::kDropNewest;
    } else if (a == "--denom") {
      if (!value(i, v)) return false;
      auto d = parse_hex_byte(v);
      if (!d || *d == 0 || *d > 0x1A) {
        error = "--denom: expected a Table C-4 code 01..1A";
        return false;
      }
      proto.denomination = *d;
    } else {
      error = "unknown option '" + a + "' (see --help)";
      return false;
    }
  }
  if (!early.empty()) {
    if (out.sim.buses.empty()) {
      error = "--egm needs a --pty or --tcp bus";
      return false;
    }
    auto& first = out.sim.buses.front().machines;
    first.insert(first.begin(), early.begin(), early.end());
  }
  for (BusConfig& b : out.sim.buses) {
    b.sync_required = sync_required;
    b.chirp = chirp;
    if (b.machines.empty()) b.machines.push_back(MachineConfig{});
    std::map<int, int> at_address;
    for (MachineConfig& m : b.machines) {
      std::uint8_t addr = m.address;
      m = proto;
      m.address = addr;
      m.serial = "SIM" + std::to_string(addr);
      // A second machine at one address (--shared-address) has its own serial, "SIM5-2".
      if (int n = ++at_address[addr]; n > 1) m.serial += "-" + std::to_string(n);
    }
  }
  return true;
}

}  // namespace floorgate::sim
