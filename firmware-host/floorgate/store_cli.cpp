// `floorgate store stats|verify|export`: the operator's view of a store file, live (the daemon
// keeps running: every query is one read-only snapshot) or a copy. Never writes.
#include "store_cli.hpp"

#include <sqlite3.h>

#include <boost/json.hpp>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <map>
#include <fstream>
#include <optional>

#include "floorgate/core/event_class.hpp"
#include "floorgate/core/route.hpp"
#include "floorgate/gateway/chain_signing.hpp"
#include "floorgate/store/store.hpp"

namespace floorgate::host {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

constexpr const char* kUsage =
    "usage: floorgate store stats  [--db PATH]\n"
    "       floorgate store verify [--db PATH] [--from SEQ] [--to SEQ]\n"
    "                              [--anchor HEADS.jsonl [--pubkey device.key.pub]]\n"
    "       floorgate store pubkey [--db PATH]\n"
    "       floorgate store export [--db PATH] [--since TIME] [--until TIME] [--egm ID]\n"
    "                              [--type TYPE|PREFIX.*] [--format jsonl|csv]\n"
    "PATH defaults to /var/lib/floorgate/floorgate.db; TIME is ISO-8601 UTC\n"
    "(2026-12-04T08:00:00Z) or Unix milliseconds. Read-only: safe on a live store.\n";

struct Args {
  std::string cmd;
  fs::path db = "/var/lib/floorgate/floorgate.db";
  std::uint64_t from = 0, to = UINT64_MAX;
  std::optional<std::int64_t> since, until;
  std::string egm, type, format = "jsonl";
  fs::path anchor, pubkey;
};

std::optional<std::uint64_t> to_u64(const std::string& s) {
  std::uint64_t v = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

// ISO-8601 UTC (seconds, optional fraction, Z) or Unix milliseconds.
std::optional<std::int64_t> to_time_ms(const std::string& s) {
  if (auto ms = to_u64(s)) return static_cast<std::int64_t>(*ms);
  std::tm tm{};
  int frac = 0;
  char z = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%c", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &z) < 6) {
    return std::nullopt;
  }
  if (z == '.') std::sscanf(s.c_str() + 20, "%3d", &frac);
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  const std::time_t t = timegm(&tm);
  if (t == static_cast<std::time_t>(-1)) return std::nullopt;
  return static_cast<std::int64_t>(t) * 1000 + frac;
}

std::optional<Args> parse(const std::vector<std::string>& a, std::string& err) {
  Args out;
  if (a.size() < 3) {
    err = kUsage;
    return std::nullopt;
  }
  out.cmd = a[2];
  if (out.cmd != "stats" && out.cmd != "verify" && out.cmd != "export" && out.cmd != "pubkey") {
    err = "unknown store command '" + out.cmd + "'\n" + kUsage;
    return std::nullopt;
  }
  for (std::size_t i = 3; i < a.size(); ++i) {
    const std::string& k = a[i];
    if (i + 1 >= a.size()) {
      err = k + " needs a value\n" + kUsage;
      return std::nullopt;
    }
    const std::string& v = a[++i];
    bool ok = true;
    if (k == "--db") out.db = v;
    else if (k == "--from" && out.cmd == "verify") ok = (out.from = to_u64(v).value_or(0), to_u64(v).has_value());
    else if (k == "--to" && out.cmd == "verify") ok = (out.to = to_u64(v).value_or(0), to_u64(v).has_value());
    else if (k == "--anchor" && out.cmd == "verify") out.anchor = v;
    else if (k == "--pubkey" && out.cmd == "verify") out.pubkey = v;
    else if (k == "--since" && out.cmd == "export") ok = (out.since = to_time_ms(v)).has_value();
    else if (k == "--until" && out.cmd == "export") ok = (out.until = to_time_ms(v)).has_value();
    else if (k == "--egm" && out.cmd == "export") out.egm = v;
    else if (k == "--type" && out.cmd == "export") out.type = v;
    else if (k == "--format" && out.cmd == "export") ok = (out.format = v) == "jsonl" || v == "csv";
    else {
      err = "unknown option " + k + " for store " + out.cmd + "\n" + kUsage;
      return std::nullopt;
    }
    if (!ok) {
      err = "bad value for " + k + ": '" + v + "'\n" + kUsage;
      return std::nullopt;
    }
  }
  return out;
}

// One read-only connection; closes itself.
struct ReadOnly {
  sqlite3* db = nullptr;
  std::string error;
  explicit ReadOnly(const fs::path& p) {
    if (!fs::exists(p)) {
      error = p.string() + ": no such file";
      return;
    }
    if (sqlite3_open_v2(p.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
      error = p.string() + ": " + (db ? sqlite3_errmsg(db) : "cannot open");
    }
    if (db) sqlite3_busy_timeout(db, 5000);
  }
  ~ReadOnly() { sqlite3_close_v2(db); }
  sqlite3_stmt* prepare(const char* sql) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) != SQLITE_OK) {
      error = sqlite3_errmsg(db);
      return nullptr;
    }
    return st;
  }
};

std::string text(sqlite3_stmt* st, int col) {
  const auto* p = sqlite3_column_text(st, col);
  return p ? reinterpret_cast<const char*>(p) : "";
}

std::string hex(const void* data, int n) {
  static constexpr char k[] = "0123456789abcdef";
  std::string out;
  const auto* b = static_cast<const unsigned char*>(data);
  for (int i = 0; i < n; ++i) {
    out.push_back(k[b[i] >> 4]);
    out.push_back(k[b[i] & 15]);
  }
  return out;
}

std::string class_name(std::int64_t cls) {
  auto c = core::event_class_at(cls);
  return c ? std::string(core::to_string(*c)) : std::to_string(cls);
}

int stats(const Args& a) {
  ReadOnly ro(a.db);
  if (!ro.error.empty()) {
    std::cerr << "floorgate store stats: " << ro.error << "\n";
    return 2;
  }
  json::object o;
  std::uint64_t bytes = 0;
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::error_code ec;
    auto n = fs::file_size(a.db.string() + suffix, ec);
    if (!ec) bytes += n;
  }
  o["path"] = a.db.string();
  o["bytes"] = bytes;
  sqlite3_exec(ro.db, "BEGIN", nullptr, nullptr, nullptr);  // one snapshot for every number
  std::uint64_t last_seq = 0;
  if (auto* st = ro.prepare("SELECT epoch,last_seq FROM state WHERE id=1")) {
    if (sqlite3_step(st) == SQLITE_ROW) {
      o["epoch"] = sqlite3_column_int64(st, 0);
      last_seq = static_cast<std::uint64_t>(sqlite3_column_int64(st, 1));
    }
    sqlite3_finalize(st);
  }
  // The state row is a book written about once a second; rows after it are the head.
  if (auto* st = ro.prepare("SELECT seq FROM event WHERE seq>?1 ORDER BY seq DESC LIMIT 1")) {
    sqlite3_bind_int64(st, 1, static_cast<sqlite3_int64>(last_seq));
    if (sqlite3_step(st) == SQLITE_ROW) last_seq = static_cast<std::uint64_t>(sqlite3_column_int64(st, 0));
    sqlite3_finalize(st);
  }
  o["last_seq"] = last_seq;
  json::object per_class;
  std::int64_t total = 0;
  if (auto* st = ro.prepare("SELECT cls,count(*) FROM event GROUP BY cls")) {
    while (sqlite3_step(st) == SQLITE_ROW) {
      per_class[class_name(sqlite3_column_int64(st, 0))] = sqlite3_column_int64(st, 1);
      total += sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
  }
  o["rows"] = total;
  o["rows_per_class"] = std::move(per_class);
  if (auto* st = ro.prepare("SELECT seq,ts_gw FROM event ORDER BY seq LIMIT 1")) {
    if (sqlite3_step(st) == SQLITE_ROW) {
      o["oldest_seq"] = sqlite3_column_int64(st, 0);
      o["oldest_ts_gw_ms"] = sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
  }
  json::array consumers;
  if (auto* st = ro.prepare("SELECT name,acked,required,"
                            "(SELECT count(*) FROM dead_letter d WHERE d.consumer=c.name) "
                            "FROM consumer c ORDER BY name")) {
    while (sqlite3_step(st) == SQLITE_ROW) {
      const auto acked = static_cast<std::uint64_t>(sqlite3_column_int64(st, 1));
      consumers.push_back(json::object{{"name", text(st, 0)},
                                       {"acked", acked},
                                       {"lag_seqs", last_seq > acked ? last_seq - acked : 0},
                                       {"required", sqlite3_column_int64(st, 2) != 0},
                                       {"dead_letters", sqlite3_column_int64(st, 3)}});
    }
    sqlite3_finalize(st);
  }
  o["consumers"] = std::move(consumers);
  sqlite3_exec(ro.db, "COMMIT", nullptr, nullptr, nullptr);
  if (!ro.error.empty()) {
    std::cerr << "floorgate store stats: " << ro.error << "\n";
    return 2;
  }
  std::cout << json::serialize(o) << "\n";
  return 0;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The signed heads of `a.anchor` against the store: each signature with the device's public
// key, then each head's hash against the row (or evicted-row hash) at its seq. Returns the
// exit status; 0 sets `matched`.
int check_anchors(const Args& a, std::size_t& matched) {
  const fs::path pub_path = a.pubkey.empty() ? a.db.parent_path() / "device.key.pub" : a.pubkey;
  const std::string pub = read_file(pub_path);
  if (pub.empty()) {
    std::cerr << "floorgate store verify: no public key in " << pub_path.string() << "\n";
    return 2;
  }
  std::ifstream in(a.anchor);
  if (!in) {
    std::cerr << "floorgate store verify: cannot read " << a.anchor.string() << "\n";
    return 2;
  }
  ReadOnly ro(a.db);
  if (!ro.error.empty()) {
    std::cerr << "floorgate store verify: " << ro.error << "\n";
    return 2;
  }
  std::uint64_t epoch = 0, anchor_seq = 0;
  if (auto* st = ro.prepare("SELECT epoch,anchor_seq FROM state WHERE id=1")) {
    if (sqlite3_step(st) == SQLITE_ROW) {
      epoch = static_cast<std::uint64_t>(sqlite3_column_int64(st, 0));
      anchor_seq = static_cast<std::uint64_t>(sqlite3_column_int64(st, 1));
    }
    sqlite3_finalize(st);
  }
  auto* find = ro.prepare("SELECT hex(hash) FROM event WHERE seq=?1 UNION ALL "
                          "SELECT hex(hash) FROM gap WHERE seq=?1");
  int line_no = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    boost::system::error_code ec;
    json::value v = json::parse(line, ec);
    const json::object* o = !ec && v.is_object() ? &v.as_object() : nullptr;
    if (!o || !o->contains("seq") || !o->contains("epoch") || !o->contains("hash") ||
        !o->contains("ts_ms") || !o->contains("sig")) {
      std::cout << "signed head on line " << line_no << ": not a floorgate.chain/1 head\n";
      sqlite3_finalize(find);
      return 1;
    }
    const auto seq = o->at("seq").to_number<std::uint64_t>();
    const auto head_epoch = o->at("epoch").to_number<std::uint64_t>();
    const std::string hash = o->at("hash").as_string().c_str();
    const std::string msg = gateway::chain_message(head_epoch, seq, hash,
                                                   o->at("ts_ms").to_number<std::int64_t>());
    if (!gateway::verify_chain_signature(pub, msg, o->at("sig").as_string().c_str())) {
      std::cout << "signed head seq " << seq << " (line " << line_no
                << "): bad signature, not signed by this device\n";
      sqlite3_finalize(find);
      return 1;
    }
    // A head of an earlier store of this gateway, or of rows retention has deleted from the
    // start of the chain: its signature was checked, there is nothing left to match.
    if (head_epoch != epoch || seq <= anchor_seq) continue;
    sqlite3_reset(find);
    sqlite3_bind_int64(find, 1, static_cast<std::int64_t>(seq));
    if (sqlite3_step(find) != SQLITE_ROW) {
      std::cout << "chain broken at seq " << seq << ": the signed head's row is not in the store\n";
      sqlite3_finalize(find);
      return 1;
    }
    std::string stored = text(find, 0);
    for (char& ch : stored) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (stored != hash) {
      std::cout << "chain broken at seq " << seq << ": the row's hash is not the signed head's\n";
      sqlite3_finalize(find);
      return 1;
    }
    ++matched;
  }
  sqlite3_finalize(find);
  return 0;
}

int verify(const Args& a) {
  if (!fs::exists(a.db)) {
    std::cerr << "floorgate store verify: " << a.db.string() << ": no such file\n";
    return 2;
  }
  std::size_t matched = 0;
  if (!a.anchor.empty()) {
    if (int rc = check_anchors(a, matched); rc != 0) return rc;
  }
  store::ChainCheck c = store::verify_file(a.db, a.from, a.to);
  if (c.ok) {
    std::cout << "chain holds: " << c.detail;
    if (!a.anchor.empty()) std::cout << "; matches " << matched << " signed heads";
    std::cout << "\n";
    return 0;
  }
  std::cout << "chain broken";
  if (c.first_bad_seq) std::cout << " at seq " << *c.first_bad_seq;
  std::cout << ": " << c.detail << "\n";
  return 1;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"') out += '"';
    out += ch;
  }
  return out + "\"";
}

int export_rows(const Args& a) {
  ReadOnly ro(a.db);
  if (!ro.error.empty()) {
    std::cerr << "floorgate store export: " << ro.error << "\n";
    return 2;
  }
  auto* st = ro.prepare(
      "SELECT seq,epoch,egm,egm_seq,type,cls,ts_gw,ts_egm,source,attrs,hash FROM event "
      "WHERE (?1 IS NULL OR ts_gw>=?1) AND (?2 IS NULL OR ts_gw<?2) AND (?3='' OR egm=?3) "
      "ORDER BY seq");
  if (!st) {
    std::cerr << "floorgate store export: " << ro.error << "\n";
    return 2;
  }
  if (a.since) sqlite3_bind_int64(st, 1, *a.since);
  if (a.until) sqlite3_bind_int64(st, 2, *a.until);
  sqlite3_bind_text(st, 3, a.egm.c_str(), -1, SQLITE_TRANSIENT);
  if (a.format == "csv") {
    std::cout << "seq,epoch,egm,egm_seq,type,class,ts_gw_ms,ts_egm_ms,source,attrs,hash\n";
  }
  std::uint64_t n = 0;
  int rc = 0;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    const std::string type = text(st, 4);
    if (!a.type.empty() && !core::type_pattern_matches(a.type, type)) continue;
    const bool has_egm_ts = sqlite3_column_type(st, 7) != SQLITE_NULL;
    const std::string hash = hex(sqlite3_column_blob(st, 10), sqlite3_column_bytes(st, 10));
    if (a.format == "csv") {
      std::cout << sqlite3_column_int64(st, 0) << ',' << sqlite3_column_int64(st, 1) << ','
                << csv_field(text(st, 2)) << ',' << sqlite3_column_int64(st, 3) << ','
                << csv_field(type) << ',' << class_name(sqlite3_column_int64(st, 5)) << ','
                << sqlite3_column_int64(st, 6) << ','
                << (has_egm_ts ? std::to_string(sqlite3_column_int64(st, 7)) : std::string())
                << ',' << csv_field(text(st, 8)) << ',' << csv_field(text(st, 9)) << ',' << hash
                << '\n';
    } else {
      json::object o{{"seq", sqlite3_column_int64(st, 0)},
                     {"epoch", sqlite3_column_int64(st, 1)},
                     {"egm", text(st, 2)},
                     {"egm_seq", sqlite3_column_int64(st, 3)},
                     {"type", type},
                     {"class", class_name(sqlite3_column_int64(st, 5))},
                     {"ts_gw_ms", sqlite3_column_int64(st, 6)},
                     {"source", text(st, 8)},
                     {"hash", hash}};
      o["ts_egm_ms"] = has_egm_ts ? json::value(sqlite3_column_int64(st, 7)) : json::value(nullptr);
      boost::system::error_code ec;
      json::value attrs = json::parse(text(st, 9), ec);
      o["attrs"] = ec ? json::value(text(st, 9)) : std::move(attrs);
      std::cout << json::serialize(o) << '\n';
    }
    ++n;
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) {
    std::cerr << "floorgate store export: " << sqlite3_errmsg(ro.db) << "\n";
    return 2;
  }
  std::cerr << "exported " << n << " events\n";
  return 0;
}

}  // namespace

int run_store_command(const std::vector<std::string>& args) {
  std::string err;
  auto a = parse(args, err);
  if (!a) {
    std::cerr << err;
    return 2;
  }
  if (a->cmd == "stats") return stats(*a);
  if (a->cmd == "pubkey") {
    const std::string pem = read_file(a->db.parent_path() / "device.key.pub");
    if (pem.empty()) {
      std::cerr << "floorgate store pubkey: no " << (a->db.parent_path() / "device.key.pub").string()
                << " (the daemon creates it on its first start)\n";
      return 2;
    }
    std::cout << pem;
    return 0;
  }
  if (a->cmd == "verify") return verify(*a);
  return export_rows(*a);
}

}  // namespace floorgate::host
