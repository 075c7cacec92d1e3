#pragma once
// Sans-I/O pieces of the MQTT contract (docs/mqtt.md): topic names, the JSON event payload,
// status/health payloads and the parsers for what consumers send (acks, nacks, replays).
// Pure functions: no sockets, no store, callable from any thread.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "floorgate/store/store.hpp"

namespace floorgate::gateway {

// Payload schema id carried in every event ("schema" field and MQTT 5 user property).
inline constexpr std::string_view kEventSchema = "floorgate.event/1";

// UTC ms since the Unix epoch -> "2026-11-22T19:37:30.123Z".
std::string iso8601_ms(std::int64_t ms);
// "YYYY-MM-DDThh:mm:ss[.fff][Z|+hh:mm|-hh:mm]" -> UTC ms; nullopt if malformed.
std::optional<std::int64_t> parse_iso8601(std::string_view text);

// A topic level built from free text: '/', '+', '#', NUL and empty become '_' (or "_").
std::string topic_segment(std::string_view text);
// <root>/c/<consumer>/<egm>/<class>/<type>
std::string event_topic(std::string_view root, std::string_view consumer, const store::Record& r);
// <root>/live/<egm>/<class>/<type>
std::string live_topic(std::string_view root, const store::Record& r);

// Where an event sits in one consumer's stream (docs/mqtt.md, "Stream marks").
struct StreamMarks {
  bool replay = false;       // "replay": true
  bool dead_letter = false;  // "dead_letter": true (a redelivered dead letter)
  // "after": the stream has no event between this seq and the event's seq (exclusive): the
  // previous event of the same lane, or the position the lane was read from. A consumer that
  // has not processed up to `after` missed something (a gap): it asks for a replay.
  std::optional<std::uint64_t> after;
  // "live_from": the event travels on a live_first consumer's live lane, which started after
  // this seq (absent on the ordered lane and on the backlog lane).
  std::optional<std::uint64_t> live_from;
  bool operator==(const StreamMarks&) const = default;
};

// The JSON event (one MQTT message). attrs_json is embedded as-is (already a JSON object).
std::string encode_event(const store::Record& r, const StreamMarks& marks = {});
// The same into `out` (cleared first; its capacity is reused).
void encode_event(std::string& out, const store::Record& r, const StreamMarks& marks = {});
// Retained <root>/status payload: {"state":"online"|"offline","epoch":..,"boot_id":..,..}.
std::string encode_status(bool online, std::uint64_t epoch, std::string_view boot_id,
                          std::int64_t ts_ms);

// What arrived on <root>/ack/<consumer>.
struct AckMsg {
  std::uint64_t upto = 0;  // cumulative ack (the ordered lane, or a live_first backlog lane)
  // live_first: every event of the live lane that started after `from` is processed up to
  // and including `upto` ({"upto":N,"live_from":L,"live_upto":M}).
  struct Live {
    std::uint64_t from = 0, upto = 0;
  };
  std::optional<Live> live;
};
struct NackMsg {
  std::uint64_t seq = 0;   // event the consumer cannot process -> dead letter
  std::string reason;
};
using AckTopicMsg = std::variant<AckMsg, NackMsg>;

// What arrived on <root>/replay/<consumer>.
struct ReplayFromSeq {
  std::uint64_t from_seq = 0;
};
struct ReplaySince {
  std::int64_t since_ms = 0;
};
struct RedeliverDead {};
using ReplayMsg = std::variant<ReplayFromSeq, ReplaySince, RedeliverDead>;

// Parse results: the message, or a one-line reason it was rejected (for the log).
template <class T>
struct Parsed {
  std::optional<T> value;
  std::string error;  // empty when value is set
};
// {"upto": N} or {"nack": N, "reason": "..."}; N a non-negative integer, no other shapes.
Parsed<AckTopicMsg> parse_ack(std::string_view payload);
// {"from_seq": N} or {"since": "<ISO-8601>"} or {"redeliver_dead": true}.
Parsed<ReplayMsg> parse_replay(std::string_view payload);

// Which inbound topic a message came on. nullopt = not a topic the gateway owns.
// <root>/ack/<consumer>, <root>/replay/<consumer>, <root>/consumer/<consumer>/status.
struct InboundTopic {
  enum class Kind { ack, replay, presence } kind = Kind::ack;
  std::string consumer;
};
std::optional<InboundTopic> classify_topic(std::string_view root, std::string_view topic);

// A consumer's presence message: {"state":"online"} / {"state":"offline"} (other keys are
// ignored; the plain words are accepted too). nullopt when it is neither.
std::optional<bool> parse_presence(std::string_view payload);

}  // namespace floorgate::gateway
