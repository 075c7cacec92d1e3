#pragma once
// Where the kit hands events: a file of JSON lines, a command per batch, or PostgreSQL. A sink
// applies one batch at a time and, where it can, stores the consumer's stream positions with
// the batch's effect (postgres: one transaction), which is what makes a crash at any moment
// leave each event applied exactly once.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace floorgate::consume {

// One event to apply: the gateway it came from (its topic root) and the payload as received.
struct Delivered {
  std::string gateway;  // topic root, e.g. floor/v1/site-a/gw-07
  std::uint64_t epoch = 0, seq = 0;
  std::string payload;  // the event JSON (docs/schemas/event.schema.json)
};

// Stream positions by gateway root: StreamState::to_json() text.
using Positions = std::map<std::string, std::string>;

struct CommitResult {
  bool ok = true;
  std::string error;  // why not (for the log, and for a nack's reason)
  // Permanent: retrying the same batch will not help (exec: the command failed N times). The
  // kit nacks the batch's events; otherwise it retries.
  bool permanent = false;
  // The sink's own state contradicts the kit's (postgres: a duplicate key, i.e. an event the
  // stored positions say is new is already in the table). Never swallowed: the kit stops.
  bool fatal = false;
  // Events the sink can never take (postgres: a row it refuses for its data), as indices into
  // the batch; nothing was committed. The kit nacks them and commits the rest.
  std::vector<std::size_t> refused;
};

struct LoadResult {
  bool ok = true;
  std::string error;
  std::optional<Positions> positions;  // nullopt: this sink keeps no positions
};

class Sink {
 public:
  virtual ~Sink() = default;
  virtual const char* name() const = 0;
  // Positions stored with the sink's effects, when it stores them (postgres); nullopt when the
  // kit keeps them in its state file.
  virtual LoadResult load_positions() = 0;
  // Applies `batch` (may be empty: positions only) and stores `positions` when it keeps them.
  // Returns only when the effect is durable.
  virtual CommitResult commit(const std::vector<Delivered>& batch, const Positions& positions) = 0;
  // Sinks without positions of their own: a token for the kit's state file that says how far
  // the sink's effect went (jsonl: the file size), and the check at start-up that undoes an
  // effect the state file does not know about (jsonl: truncate a torn tail).
  virtual std::string effect_mark() { return {}; }
  virtual void restore_mark(const std::string& /*mark*/) {}
};

// jsonl: one line per event, {"gateway":"<root>","event":<payload>}; `path` empty = stdout.
// A file is fsynced before the batch is acked.
std::unique_ptr<Sink> make_jsonl_sink(const std::string& path);

// exec: runs `/bin/sh -c command` per batch with the batch's jsonl lines on stdin; exit 0 is
// success. After `attempts` failures in a row the batch is refused permanently (the kit nacks
// it with the command's stderr). The command should be idempotent on (gateway, epoch, seq): a
// crash after it succeeded and before the kit saved its state runs it again.
std::unique_ptr<Sink> make_exec_sink(const std::string& command, int attempts);

// postgres (libpq): `conninfo` as libpq takes it; `table` holds the events with primary key
// (site, gateway, epoch, seq); positions live in floorgate_consumer_positions under
// `consumer`. Both tables are created on first use (docs/consumers.md, "PostgreSQL").
std::unique_ptr<Sink> make_postgres_sink(const std::string& conninfo, const std::string& table,
                                         const std::string& consumer);

}  // namespace floorgate::consume
