#pragma once
// What a consumer knows about one gateway's stream, and the decisions the contract asks of it
// (docs/consumers.md, "The rules, in order"). Sans-I/O: no sockets, no files, no clock.
//
// The knowledge is a set of seq intervals (a, b]: "every event of my stream with a < seq <= b
// is processed". Each event says `after` (no event of its lane lies between after and seq),
// so processing it adds (after, seq] to the set; a duplicate is a seq inside the set; an event
// whose `after` is not known yet arrives after a gap (something was lost on the way) and is not
// processed: the consumer asks for a replay and the gateway's resend fills the gap in order.
// live_first lanes (docs/mqtt.md) are intervals of their own until the backlog reaches them.

#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace floorgate::consume {

// The fields of one event message the stream logic needs.
struct EventMeta {
  std::uint64_t epoch = 0, seq = 0;
  std::optional<std::uint64_t> after;      // absent: a gateway older than the stream marks
  std::optional<std::uint64_t> live_from;  // present: the live lane that started after it
  bool replay = false, dead_letter = false;
};

// Parses the envelope of an event payload. Error text when it is not a floorgate event of a
// schema major version this kit understands.
struct ParsedEvent {
  std::optional<EventMeta> meta;
  std::string error;
  bool unsupported_schema = false;  // a newer major version: stop, do not guess
};
ParsedEvent parse_event(std::string_view payload);

enum class Verdict {
  apply,      // new: hand it to the sink, then record()
  duplicate,  // processed before: do not apply; record() so its seq counts for the ack
  gap,        // an earlier event of its lane is missing: drop it (unacked), ask for a replay
  stale,      // from an older epoch than the one in force: drop it
};
const char* to_string(Verdict v);

// The ack to publish on <root>/ack/<consumer> after a batch committed.
struct Ack {
  std::optional<std::uint64_t> upto;
  struct Live {
    std::uint64_t from = 0, upto = 0;
  };
  std::optional<Live> live;
  std::string json() const;  // {"upto":N} or {"upto":N,"live_from":L,"live_upto":M}
};

// A gateway's retained <root>/status as the kit follows it. A Last Will can reach us after the
// gateway is already back (the broker noticed the old session late): an "offline" whose
// boot_id is not the last "online" one is stale and ignored (docs/consumers.md, rule 8).
class GatewayStatus {
 public:
  enum class Change { none, online, offline, stale_will, unreadable };
  Change on_status(std::string_view payload);
  bool online() const { return online_; }
  const std::string& boot_id() const { return boot_id_; }

 private:
  bool online_ = false;
  std::string boot_id_;  // of the last "online"
};

class StreamState {
 public:
  StreamState() = default;

  // The decision for one event given what is known (state unchanged).
  Verdict classify(const EventMeta& e) const;
  // Counts an applied (or duplicate) event: adds (after, seq] to what is known. A new epoch
  // starts the knowledge again. Also notes the seq as an ack candidate for this batch.
  void record(const EventMeta& e);
  // What to ack for the events recorded since the last take_ack(); clears the candidates.
  // Never a seq the gateway did not send in this batch ("ack the seq you just processed").
  std::optional<Ack> take_ack();

  // A gap (classify said so): its `after` is an event of this stream we do not have. Until
  // the ordered lane reaches it, no merge of the lanes may count it as processed.
  void gap_seen(const EventMeta& e);

  // A nacked event (the sink refused it): known from now on, and remembered so that a
  // redelivered dead letter is applied once.
  void nacked(const EventMeta& e);

  std::uint64_t epoch() const { return epoch_; }
  // Every event up to here is processed (the ordered lane's position); 0 before the first.
  std::uint64_t upto() const;
  // Where a replay should start after a gap.
  std::uint64_t replay_from() const { return upto() + 1; }
  const std::vector<std::pair<std::uint64_t, std::uint64_t>>& known() const { return known_; }

  // The persistent form ({"epoch":E,"known":[[a,b],...],"nacked":[...],"missing":M}), stored with the
  // sink's effects (postgres: same transaction) or in the kit's state file.
  boost::json::value to_json() const;
  static std::optional<StreamState> from_json(const boost::json::value& v);

 private:
  // Processed up to `position`: some (a, b] holds it, or it is where the ordered lane started
  // (the front's a). A later interval's a is not: it is where a live lane started, and the
  // events up to it are the backlog's, which we may not have.
  bool had(std::uint64_t position) const;
  bool contains(std::uint64_t seq) const;       // some (a, b] with a < seq <= b
  void add(std::uint64_t a, std::uint64_t b);

  bool started_ = false;
  bool based_ = false;  // an ordered event set the base: known_.front() is the ordered lane
  std::uint64_t epoch_ = 0;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> known_;  // sorted, disjoint (a, b]
  std::vector<std::uint64_t> nacked_;                            // bounded
  std::optional<std::uint64_t> missing_;  // the highest event a gap showed we lack (gap_seen)
  // Ack candidates of the current batch (not persisted).
  std::optional<std::uint64_t> main_seen_;
  std::optional<std::uint64_t> live_from_seen_, live_seen_;
};

}  // namespace floorgate::consume
