#include <algorithm>
#include <map>
#include <set>

#include "floorgate/core/limits.hpp"
#include "checks.hpp"
#include "floorgate/config/schema.hpp"
#include "sections.hpp"

namespace floorgate::config::detail {
namespace limits = core::limits;

namespace {

const std::vector<std::string_view> kG2sTlsKeys = {"tls_cert_file", "tls_key_file",
                                                    "tls_ca_file"};

// The schema's bit for a driver (KeySpec::drivers).
unsigned driver_bit(Driver d) { return 1u << static_cast<unsigned>(d); }

std::string at_line(Pos p) { return "line " + std::to_string(p.line); }

// `timing:` on a SAS bus or EGM: one of the preset names.
void read_timing(Reader& r, const YAML::Node& map, std::string_view path, std::string& out) {
  const std::vector<std::string_view> names(std::begin(kSasTimingPresets), std::end(kSasTimingPresets));
  int idx = -1;
  if (r.read_choice(map, path, "timing", names, idx) && idx >= 0) out = std::string(names[idx]);
}

void read_label(Reader& r, const YAML::Node& map, std::string_view path, std::string_view key,
                std::string& out) {
  std::string s = out;
  if (!r.read_string(map, path, key, s)) return;
  if (s.size() > 128) {
    r.error(pos_of(Reader::find(map, key)), join(path, key), "is too long; at most 128 characters");
    return;
  }
  out = std::move(s);
}

void read_meter_codes(Reader& r, const YAML::Node& egm, std::string_view path,
                      std::vector<std::uint16_t>& out) {
  const YAML::Node v = Reader::find(egm, "meter_codes");
  const std::string p = join(path, "meter_codes");
  if (!v.IsDefined()) return;
  if (v.IsNull()) {
    out.clear();
    return;
  }
  if (!v.IsSequence()) {
    r.error(pos_of(v), p, "expected a list of SAS meter codes, e.g. [0x00, 0x01], got " +
                              describe(v));
    return;
  }
  std::vector<std::uint16_t> codes;
  // One bit per possible code: the duplicate check stays linear in the list's length.
  std::vector<bool> listed(0x10000, false);
  for (std::size_t i = 0; i < v.size(); ++i) {
    const YAML::Node item = v[i];
    std::int64_t code = -1;
    if (!item.IsScalar() || !Reader::parse_int(item.Scalar(), code) || code < 0 ||
        code > 0xFFFF) {
      r.error(pos_of(item), index(p, i),
              "expected a SAS meter code 0x0000-0xFFFF, got " + describe(item));
      continue;
    }
    const auto c = static_cast<std::uint16_t>(code);
    if (listed[c]) {
      r.error(pos_of(item), index(p, i), "meter code " + item.Scalar() + " is listed twice");
      continue;
    }
    listed[c] = true;
    codes.push_back(c);
  }
  // The default before the progressive, bonus and AFT-debit meters (1D, 1E, A6) joined it
  // (December 2026): the configuration writer used to spell the default out, so a file that
  // lists exactly that set was written by it (or copied from its example) and means "the
  // default", which now reads them too.
  static constexpr std::uint16_t kEarlierDefault[] = {
      0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x0B, 0x0C, 0x24, 0x0D, 0x0E, 0x0F, 0x10,
      0x23, 0xA0, 0xA2, 0xA4, 0xB8, 0xBA, 0xBC, 0x40, 0x42, 0x43, 0x44, 0x46, 0x47};
  if (std::ranges::equal(codes, kEarlierDefault)) codes = default_meter_codes();
  out = std::move(codes);
}

// State shared by all buses for the duplicate checks.
struct Seen {
  std::map<std::string, Pos> egm_ids;
  std::map<std::string, Pos> g2s_ids;
  std::map<std::string, Pos> bus_ids;
  std::map<std::string, Pos> endpoints;  // serial device paths, tcp endpoints, g2s listen ports
};

// Records `key` in `seen` or reports the duplicate; returns false on a duplicate.
bool first_use(Reader& r, std::map<std::string, Pos>& seen, const std::string& key, Pos pos,
               std::string_view path, std::string_view what) {
  auto [it, inserted] = seen.emplace(key, pos);
  if (inserted) return true;
  r.error(pos, path, std::string(what) + " '" + key + "' is already used at " +
                         at_line(it->second) + "; it must be unique");
  return false;
}

// An EGM's url must match its bus: https:// with mutual TLS, http:// without. "" when it does.
std::string url_scheme_problem(const BusConfig& bus, const std::string& url) {
  const bool https = url.starts_with("https://");
  if (bus.g2s_tls() && !https)
    return "'" + url + "' must be an https:// URL: this bus uses mutual TLS (it has TLS files)";
  if (!bus.g2s_tls() && https)
    return "'" + url + "' is https:// but the bus has no tls_cert_file, tls_key_file and "
           "tls_ca_file; set them (mutual TLS) or use http://";
  return {};
}

void read_egm(Reader& r, const YAML::Node& e, const std::string& p, const BusConfig& bus,
              Seen& seen, std::map<int, Pos>& addresses, EgmConfig& egm) {
  const bool g2s = bus.driver == Driver::g2s;
  constexpr std::string_view kEgm = "buses[].egms[]";
  if (!r.check_map(e, p, section_keys(kEgm, driver_bit(bus.driver)),
                   other_driver_keys(kEgm, driver_bit(bus.driver)),
                   g2s ? "applies to sas-serial and sas-tcp buses only, not to a g2s bus"
                       : "applies to g2s buses only, not to a SAS bus"))
    return;
  if (r.require(e, p, "id", "EGM id, e.g. bank3-07") && r.read_id(e, p, "id", egm.id))
    first_use(r, seen.egm_ids, egm.id, pos_of(Reader::find(e, "id")), join(p, "id"), "EGM id");
  std::int64_t meter_s = egm.meter_period.count();
  if (r.read_int(e, p, "meter_period_s", 10, 86400, meter_s))
    egm.meter_period = std::chrono::seconds(meter_s);
  read_label(r, e, p, "location", egm.location);
  read_label(r, e, p, "bank", egm.bank);
  if (g2s) {
    egm.meter_codes.clear();
    if (r.require(e, p, "g2s_egm_id", "the EGM's G2S egmId, e.g. IGT_00012E492815") &&
        r.read_id(e, p, "g2s_egm_id", egm.g2s_egm_id))
      first_use(r, seen.g2s_ids, egm.g2s_egm_id, pos_of(Reader::find(e, "g2s_egm_id")),
                join(p, "g2s_egm_id"), "G2S egmId");
    std::string url;
    if (r.require(e, p, "url", "EGM location URL, e.g. http://10.1.2.3:8080/g2s") &&
        r.read_string(e, p, "url", url)) {
      const Pos up = pos_of(Reader::find(e, "url"));
      if (!valid_url(url))
        r.error(up, join(p, "url"), "'" + url + "' is not an http:// or https:// URL with a valid host");
      else if (const auto problem = url_scheme_problem(bus, url); !problem.empty())
        r.error(up, join(p, "url"), problem);
      else egm.url = url;
    }
    return;
  }
  if (r.require(e, p, "address", "SAS address 1-127") &&
      r.read_int(e, p, "address", 1, 127, egm.address)) {
    const Pos ap = pos_of(Reader::find(e, "address"));
    auto [it, inserted] = addresses.emplace(egm.address, ap);
    if (!inserted)
      r.error(ap, join(p, "address"),
              "SAS address " + std::to_string(egm.address) + " is already used on this bus at " +
                  at_line(it->second) + "; addresses must be unique per bus");
  }
  std::int64_t poll = egm.poll_period.count();
  if (r.read_int(e, p, "poll_period_ms", limits::kSasPollPeriodMinMs, limits::kSasPollPeriodMaxMs, poll))
    egm.poll_period = std::chrono::milliseconds(poll);
  read_meter_codes(r, e, p, egm.meter_codes);
  r.read_bool(e, p, "real_time_events", egm.real_time_events);
  std::int64_t rom_s = egm.rom_check_period.count();
  if (r.read_int(e, p, "rom_check_period_s", 0, 2592000, rom_s)) {
    if (rom_s > 0 && rom_s < 3600)
      r.error(pos_of(Reader::find(e, "rom_check_period_s")), join(p, "rom_check_period_s"),
              "must be 0 (only on request) or 3600-2592000 s: a ROM signature takes the "
              "machine's processor for seconds to minutes");
    else egm.rom_check_period = std::chrono::seconds(rom_s);
  }
  r.read_int(e, p, "rom_seed", 0, 0xFFFF, egm.rom_seed);
  r.read_bool(e, p, "set_clock", egm.set_clock);
  std::int64_t clock_s = egm.clock_period.count();
  if (r.read_int(e, p, "clock_period_s", 60, 86400, clock_s))
    egm.clock_period = std::chrono::seconds(clock_s);
  r.read_int(e, p, "reconcile_tolerance_cents", 0, 100'000'000, egm.reconcile_tolerance_cents);
  read_timing(r, e, p, egm.timing);
  r.read_int(e, p, "reply_timeout_ms", limits::kSasReplyTimeoutMinMs, limits::kSasReplyTimeoutMaxMs,
             egm.reply_timeout_ms);
  r.read_int(e, p, "inter_byte_ms", limits::kSasInterByteMinMs, limits::kSasInterByteMaxMs,
             egm.inter_byte_ms);
  r.read_int(e, p, "poll_gap_ms", 0, limits::kSasPollGapMaxMs, egm.poll_gap_ms);
}

// The g2s bus's TLS files: each readable, all three or none.
void read_g2s_tls(Reader& r, const YAML::Node& b, const std::string& p, BusConfig& bus) {
  read_file_key(r, b, p, "tls_cert_file", "certificate file", bus.tls_cert_file);
  read_file_key(r, b, p, "tls_key_file", "key file", bus.tls_key_file);
  read_file_key(r, b, p, "tls_ca_file", "CA file", bus.tls_ca_file);
  const std::filesystem::path* files[] = {&bus.tls_cert_file, &bus.tls_key_file, &bus.tls_ca_file};
  std::string missing;
  Pos given;
  for (std::size_t i = 0; i < kG2sTlsKeys.size(); ++i) {
    if (files[i]->empty()) missing += (missing.empty() ? "" : ", ") + std::string(kG2sTlsKeys[i]);
    else if (given.line == 0) given = pos_of(Reader::find(b, kG2sTlsKeys[i]));
  }
  if (missing.empty() || given.line == 0) return;
  r.error(given, p, "tls_cert_file, tls_key_file and tls_ca_file must be given together "
                    "(mutual TLS); missing: " + missing);
}

void read_link(Reader& r, const YAML::Node& b, const std::string& p, int web_port, Seen& seen,
               BusConfig& bus) {
  if (bus.driver == Driver::sas_serial) {
    int link = static_cast<int>(bus.link);
    if (r.read_choice(b, p, "link", {"uart", "pty"}, link)) bus.link = static_cast<LinkKind>(link);
    if (!r.require(b, p, "port", "serial device path, e.g. /dev/ttyS0") ||
        !r.read_string(b, p, "port", bus.port))
      return;
    const Pos pp = pos_of(Reader::find(b, "port"));
    if (bus.port.empty() || bus.port.front() != '/') {
      r.error(pp, join(p, "port"), "'" + bus.port + "' must be an absolute device path");
      return;
    }
    first_use(r, seen.endpoints, bus.port, pp, join(p, "port"), "serial port");
    read_timing(r, b, p, bus.timing);
    if (r.read_int(b, p, "wakeup_delay_us", 0, 20000, bus.wakeup_delay_us) &&
        bus.wakeup_delay_us > 0 && bus.link != LinkKind::uart)
      r.error(pos_of(Reader::find(b, "wakeup_delay_us")), join(p, "wakeup_delay_us"),
              "applies to link: uart only (a pty or device server marks the wakeup byte in-band)");
    if (r.read_bool(b, p, "low_latency", bus.low_latency) && bus.low_latency &&
        bus.link != LinkKind::uart)
      r.error(pos_of(Reader::find(b, "low_latency")), join(p, "low_latency"),
              "applies to link: uart only");
    if (bus.link == LinkKind::uart) {
      std::error_code ec;
      const auto st = std::filesystem::status(bus.port, ec);
      if (!std::filesystem::exists(st))
        r.error(pp, join(p, "port"), "serial port '" + bus.port +
                                         "' does not exist (link: uart needs a present device; "
                                         "use link: pty for a simulator pty)");
      else if (st.type() != std::filesystem::file_type::character)
        r.error(pp, join(p, "port"), "'" + bus.port + "' is not a serial (character) device");
    }
  } else if (bus.driver == Driver::sas_tcp) {
    std::string ep;
    if (!r.require(b, p, "endpoint", "serial device server host:port") ||
        !r.read_string(b, p, "endpoint", ep))
      return;
    const Pos pp = pos_of(Reader::find(b, "endpoint"));
    if (!parse_endpoint(ep, bus.tcp_host, bus.tcp_port))
      r.error(pp, join(p, "endpoint"),
              "'" + ep + "' is not host:port (e.g. 10.0.0.20:4001 or [fd00::1]:4001, port 1-65535)");
    else first_use(r, seen.endpoints, ep, pp, join(p, "endpoint"), "endpoint");
    read_timing(r, b, p, bus.timing);
  } else {
    r.read_int(b, p, "host_id", 1, 2147483647, bus.host_id);
    std::string bind = bus.bind;
    if (r.read_string(b, p, "bind", bind)) {
      if (valid_ip(bind)) bus.bind = bind;
      else r.error(pos_of(Reader::find(b, "bind")), join(p, "bind"),
                   "'" + bind + "' is not an IP address; e.g. 127.0.0.1, 0.0.0.0 or ::");
    }
    read_g2s_tls(r, b, p, bus);
    if (r.require(b, p, "listen_port", "port our G2S host endpoint listens on, 1-65535") &&
        r.read_int(b, p, "listen_port", 1, 65535, bus.listen_port)) {
      const Pos lp = pos_of(Reader::find(b, "listen_port"));
      if (bus.listen_port == web_port)
        r.error(lp, join(p, "listen_port"), "port " + std::to_string(web_port) +
                                                " is already used by web.port; choose another");
      else
        first_use(r, seen.endpoints, "listen port " + std::to_string(bus.listen_port), lp,
                  join(p, "listen_port"), "G2S");
    }
  }
}

}  // namespace

void read_buses(Reader& r, const YAML::Node& node, int web_port, std::vector<BusConfig>& out) {
  out.clear();
  if (!node.IsDefined() || node.IsNull()) return;
  if (!node.IsSequence()) {
    r.error(pos_of(node), "buses", "expected a list of buses, got " + describe(node));
    return;
  }
  Seen seen;
  for (std::size_t i = 0; i < node.size(); ++i) {
    const YAML::Node b = node[i];
    const std::string p = index("buses", i);
    if (!b.IsMap()) {
      r.error(pos_of(b), p, "expected a mapping (id, driver, ...), got " + describe(b));
      continue;
    }
    BusConfig bus;
    int driver = 0;
    const bool driver_ok = r.require(b, p, "driver", "sas-serial | sas-tcp | g2s") &&
                           r.read_choice(b, p, "driver", {"sas-serial", "sas-tcp", "g2s"}, driver);
    bus.driver = static_cast<Driver>(driver);
    // Until the driver is known every bus key is accepted (the driver's own error is enough).
    const unsigned bit = driver_ok ? driver_bit(bus.driver) : kAllDrivers;
    r.check_map(b, p, section_keys("buses[]", bit), other_driver_keys("buses[]", bit),
                "does not apply to a " +
                                        std::string(to_string(bus.driver)) + " bus");
    if (r.require(b, p, "id", "bus id, e.g. bus0") && r.read_id(b, p, "id", bus.id))
      first_use(r, seen.bus_ids, bus.id, pos_of(Reader::find(b, "id")), join(p, "id"), "bus id");
    if (driver_ok) read_link(r, b, p, web_port, seen, bus);

    const YAML::Node egms = Reader::find(b, "egms");
    const std::string ep = join(p, "egms");
    if (!r.require(b, p, "egms", "list of the EGMs on this bus")) {
      out.push_back(std::move(bus));
      continue;
    }
    if (!egms.IsSequence() || egms.size() == 0) {
      r.error(pos_of(egms), ep, "expected a non-empty list of EGMs, got " + describe(egms));
    } else if (driver_ok) {
      std::map<int, Pos> addresses;
      for (std::size_t j = 0; j < egms.size(); ++j) {
        EgmConfig egm;
        egm.meter_codes = default_meter_codes();
        read_egm(r, egms[j], index(ep, j), bus, seen, addresses, egm);
        bus.egms.push_back(std::move(egm));
      }
    }
    out.push_back(std::move(bus));
  }
}

}  // namespace floorgate::config::detail
