// StreamState: the consumer's knowledge of one gateway's stream (stream.hpp).
#include "floorgate/consume/stream.hpp"

#include <algorithm>
#include <boost/json.hpp>

namespace floorgate::consume {
namespace json = boost::json;

namespace {

constexpr std::size_t kNackedKept = 1024;

std::optional<std::uint64_t> as_u64(const json::value* v) {
  if (!v) return std::nullopt;
  if (v->is_uint64()) return v->get_uint64();
  if (v->is_int64() && v->get_int64() >= 0) return static_cast<std::uint64_t>(v->get_int64());
  return std::nullopt;
}

}  // namespace

ParsedEvent parse_event(std::string_view payload) {
  ParsedEvent out;
  json::error_code ec;
  auto v = json::parse(payload, ec);
  if (ec || !v.is_object()) {
    out.error = "not a JSON object";
    return out;
  }
  const auto& o = v.get_object();
  const auto* schema = o.if_contains("schema");
  if (!schema || !schema->is_string()) {
    out.error = "no \"schema\"";
    return out;
  }
  std::string_view s = schema->get_string();
  constexpr std::string_view kPrefix = "floorgate.event/";
  if (s.substr(0, kPrefix.size()) != kPrefix) {
    out.error = "schema \"" + std::string(s) + "\" is not a floorgate event";
    return out;
  }
  if (s != "floorgate.event/1") {
    out.unsupported_schema = true;
    out.error = "schema \"" + std::string(s) + "\" is newer than this kit (floorgate.event/1)";
    return out;
  }
  EventMeta m;
  auto epoch = as_u64(o.if_contains("epoch"));
  auto seq = as_u64(o.if_contains("seq"));
  if (!epoch || !seq || *seq == 0) {
    out.error = "\"epoch\" and \"seq\" must be integers, seq > 0";
    return out;
  }
  m.epoch = *epoch;
  m.seq = *seq;
  m.after = as_u64(o.if_contains("after"));
  m.live_from = as_u64(o.if_contains("live_from"));
  if (m.after && *m.after >= m.seq) {
    out.error = "\"after\" must be below \"seq\"";
    return out;
  }
  if (const auto* r = o.if_contains("replay"); r && r->is_bool()) m.replay = r->get_bool();
  if (const auto* d = o.if_contains("dead_letter"); d && d->is_bool()) m.dead_letter = d->get_bool();
  out.meta = m;
  return out;
}

const char* to_string(Verdict v) {
  switch (v) {
    case Verdict::apply: return "apply";
    case Verdict::duplicate: return "duplicate";
    case Verdict::gap: return "gap";
    case Verdict::stale: return "stale";
  }
  return "?";
}

std::string Ack::json() const {
  json::object o;
  o["upto"] = upto.value_or(0);
  if (live) {
    o["live_from"] = live->from;
    o["live_upto"] = live->upto;
  }
  return json::serialize(o);
}

GatewayStatus::Change GatewayStatus::on_status(std::string_view payload) {
  json::error_code ec;
  auto v = json::parse(payload, ec);
  if (ec || !v.is_object()) return Change::unreadable;
  const auto& o = v.get_object();
  const auto* state = o.if_contains("state");
  const auto* boot = o.if_contains("boot_id");
  if (!state || !state->is_string()) return Change::unreadable;
  const std::string boot_id = boot && boot->is_string() ? std::string(boot->get_string()) : "";
  if (state->get_string() == "online") {
    const bool changed = !online_ || boot_id != boot_id_;
    online_ = true;
    boot_id_ = boot_id;
    return changed ? Change::online : Change::none;
  }
  if (state->get_string() != "offline") return Change::unreadable;
  if (!boot_id_.empty() && boot_id != boot_id_) return Change::stale_will;
  const bool changed = online_;
  online_ = false;
  return changed ? Change::offline : Change::none;
}

bool StreamState::had(std::uint64_t position) const {
  for (std::size_t i = 0; i < known_.size(); ++i) {
    const auto& k = known_[i];
    if (k.first < position && position <= k.second) return true;
    if (i == 0 && based_ && k.first == position) return true;
  }
  return false;
}

bool StreamState::contains(std::uint64_t seq) const {
  return std::any_of(known_.begin(), known_.end(),
                     [&](const auto& k) { return k.first < seq && seq <= k.second; });
}

void StreamState::add(std::uint64_t a, std::uint64_t b) {
  if (b <= a) return;
  known_.emplace_back(a, b);
  std::sort(known_.begin(), known_.end());
  std::vector<std::pair<std::uint64_t, std::uint64_t>> merged;
  for (const auto& k : known_) {
    // (a1, b1] and (a2, b2] with a2 <= b1 are one interval (adjacent ones too).
    if (!merged.empty() && k.first <= merged.back().second)
      merged.back().second = std::max(merged.back().second, k.second);
    else
      merged.push_back(k);
  }
  known_ = std::move(merged);
}

std::uint64_t StreamState::upto() const {
  return based_ && !known_.empty() ? known_.front().second : 0;
}

Verdict StreamState::classify(const EventMeta& e) const {
  if (started_ && e.epoch < epoch_) return Verdict::stale;
  if (!started_ || e.epoch > epoch_) return Verdict::apply;  // a new stream: it starts here
  if (e.dead_letter) {
    const bool was_nacked = std::find(nacked_.begin(), nacked_.end(), e.seq) != nacked_.end();
    return was_nacked || !contains(e.seq) ? Verdict::apply : Verdict::duplicate;
  }
  if (contains(e.seq)) {
    // A copy of an event we have, sent again in order (the gateway closed a live lane and
    // resends from the cursor): its `after` still names the event before it. If we lack that
    // one, the resend lost it on the way (or the broker reordered it behind this copy).
    if (based_ && e.after && !e.live_from && !e.replay && !had(*e.after)) return Verdict::gap;
    return Verdict::duplicate;
  }
  if (!e.after) return Verdict::apply;  // a gateway without stream marks: no gap check
  if (e.live_from) {
    // The first event of a live lane comes after the lane's start; later ones after the
    // previous event of the lane.
    return *e.after == *e.live_from || had(*e.after) ? Verdict::apply : Verdict::gap;
  }
  if (!based_) return Verdict::apply;  // the first ordered event sets where we are
  return had(*e.after) ? Verdict::apply : Verdict::gap;
}

void StreamState::record(const EventMeta& e) {
  if (!started_ || e.epoch > epoch_) {
    // The gateway's store was recreated: a new stream (the old one's rows stay in the sink).
    *this = StreamState();
    started_ = true;
    epoch_ = e.epoch;
  }
  if (e.dead_letter) {
    nacked_.erase(std::remove(nacked_.begin(), nacked_.end(), e.seq), nacked_.end());
    add(e.seq - 1, e.seq);
    return;
  }
  const std::uint64_t after = e.after.value_or(known_.empty() ? e.seq - 1 : upto());
  if (e.live_from) {
    if (live_from_seen_ != e.live_from) live_seen_.reset();
    live_from_seen_ = e.live_from;
    live_seen_ = std::max(live_seen_.value_or(0), e.seq);
    add(after, e.seq);
    return;
  }
  // An ordered event following a live lane's event: the gateway merged its lanes, which it
  // does only once we acked the whole backlog up to the lane's start, so what lies between
  // our position and the lane's start is none of ours. Not when a gap showed an event of
  // ours in there: the lane was closed and its events sent again in order, and that one was
  // lost on the way (its replay is coming).
  if (based_ && !e.replay && known_.size() > 1) {
    for (std::size_t i = 1; i < known_.size(); ++i) {
      if (known_[i].first < after && after <= known_[i].second) {
        const bool lacking = missing_ && known_.front().second < *missing_ &&
                             *missing_ <= known_[i].first;
        if (!lacking) add(known_.front().second, known_[i].first);
        break;
      }
    }
  }
  add(after, e.seq);
  based_ = true;
  main_seen_ = std::max(main_seen_.value_or(0), e.seq);
}

void StreamState::gap_seen(const EventMeta& e) {
  if (started_ && e.epoch == epoch_ && e.after) missing_ = std::max(missing_.value_or(0), *e.after);
}

void StreamState::nacked(const EventMeta& e) {
  record(e);
  nacked_.push_back(e.seq);
  if (nacked_.size() > kNackedKept) nacked_.erase(nacked_.begin());
}

std::optional<Ack> StreamState::take_ack() {
  Ack ack;
  const std::uint64_t front = upto();
  const std::uint64_t front_start = based_ && !known_.empty() ? known_.front().first : ~0ULL;
  if (main_seen_) ack.upto = std::min(*main_seen_, front);
  if (live_from_seen_ && live_seen_) {
    const std::uint64_t from = *live_from_seen_;
    for (std::size_t i = 0; i < known_.size(); ++i) {
      const auto& k = known_[i];
      if (!(k.first <= from && from < k.second)) continue;
      const std::uint64_t to = std::min(*live_seen_, k.second);
      if (i == 0 && front_start <= from) {
        // The backlog reached the lane: one cumulative ack covers both.
        ack.upto = std::max(ack.upto.value_or(0), to);
      } else {
        ack.live = Ack::Live{from, to};
      }
      break;
    }
  }
  main_seen_.reset();
  live_seen_.reset();
  if (!ack.upto && !ack.live) return std::nullopt;
  if (!ack.upto) ack.upto = std::min<std::uint64_t>(front, ack.live ? ack.live->from : front);
  return ack;
}

json::value StreamState::to_json() const {
  json::array known;
  for (const auto& k : known_) known.push_back(json::array{k.first, k.second});
  json::array nacked;
  for (auto s : nacked_) nacked.push_back(s);
  json::object o{{"epoch", epoch_}, {"based", based_}, {"known", std::move(known)}, {"nacked", std::move(nacked)}};
  if (missing_) o["missing"] = *missing_;
  return o;
}

std::optional<StreamState> StreamState::from_json(const json::value& v) {
  if (!v.is_object()) return std::nullopt;
  const auto& o = v.get_object();
  auto epoch = as_u64(o.if_contains("epoch"));
  const auto* known = o.if_contains("known");
  if (!epoch || !known || !known->is_array()) return std::nullopt;
  StreamState s;
  s.started_ = true;
  s.epoch_ = *epoch;
  for (const auto& k : known->get_array()) {
    if (!k.is_array() || k.get_array().size() != 2) return std::nullopt;
    auto a = as_u64(&k.get_array()[0]);
    auto b = as_u64(&k.get_array()[1]);
    if (!a || !b || *b < *a) return std::nullopt;
    s.add(*a, *b);
  }
  if (const auto* b = o.if_contains("based"); b && b->is_bool()) s.based_ = b->get_bool();
  s.missing_ = as_u64(o.if_contains("missing"));
  if (const auto* n = o.if_contains("nacked"); n && n->is_array()) {
    for (const auto& x : n->get_array())
      if (auto seq = as_u64(&x)) s.nacked_.push_back(*seq);
  }
  return s;
}

}  // namespace floorgate::consume
