#pragma once
// The SQLite implementation of Store (private): the coordinator of named parts, each with its
// own connection, and the state they share (StoreState, store_state.hpp, under one mutex):
// - the file, a StoreFile (store_file.hpp): lock, check at open, quarantine, creation,
//   migrations (schema.cpp); loading its state (store_open.cpp);
// - the writer, a StoreWriter (store_writer.hpp): group commits of appends and acks, tasks,
//   the chain head and head book, retention chunks (Retention, store_retention.hpp), WAL
//   checkpoints on the checkpointer's connection;
// - the reader, a StoreReader (store_reader.hpp): delivery reads and lookups on the read
//   connection and two DbWorkers (the query reader, the backlog reader), the live edge from
//   the recent rows;
// - the counter thread, a CounterThread (counter_thread.hpp): big ack recounts
//   (store_counter.cpp), oldest-unacked refresh, the background integrity check.
// The consumer calls (store_consumers.cpp) validate on the caller's thread and run their writes
// as writer tasks; stats (store_stats.cpp) are read from StoreState's counters.

#include <string>
#include <utility>
#include <vector>

#include "counter_thread.hpp"
#include "db_worker.hpp"
#include "floorgate/store/store.hpp"
#include "sqlite_util.hpp"
#include "store_file.hpp"
#include "store_reader.hpp"
#include "store_state.hpp"
#include "store_writer.hpp"

namespace floorgate::store::detail {

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(Options options);
  ~SqliteStore() override;

  // Opens, checks, migrates and loads state; then starts the writer. Thread: caller of open().
  std::error_code start(OpenReport& report);

  void append(Record r, AppendHandler on_durable) override;
  std::error_code append_sync(Record r, Record* stored) override;
  void register_consumer_async(ConsumerSpec spec, RegisterHandler done) override;
  std::error_code register_consumer(const ConsumerSpec& spec) override;
  std::error_code remove_consumer(const std::string& name) override;
  void reset_consumer_async(const std::string& name, std::uint64_t to_seq,
                            ResetHandler done) override;
  std::error_code reset_consumer(const std::string& name, std::uint64_t to_seq,
                                 std::uint64_t* previous) override;
  std::vector<Record> read_after(const std::string& consumer, std::uint64_t after_seq,
                                 std::size_t max, std::error_code& ec,
                                 std::uint64_t* covered) override {
    return reader_.read_after(consumer, after_seq, max, ec, covered);
  }
  std::optional<std::vector<Record>> read_recent(const std::string& consumer,
                                                 std::uint64_t after_seq, std::size_t max,
                                                 std::error_code& ec,
                                                 std::uint64_t* covered) override {
    return reader_.read_recent(consumer, after_seq, max, ec, covered);
  }
  void read_after_async(const std::string& consumer, std::uint64_t after_seq, std::size_t max,
                        ReadAfterHandler done) override {
    reader_.read_after_async(consumer, after_seq, max, std::move(done));
  }
  std::optional<std::vector<Record>> get_recent(std::uint64_t after, std::size_t max) override {
    return reader_.get_recent(after, max);
  }
  std::error_code ack(const std::string& consumer, std::uint64_t upto) override;
  void ack_async(const std::string& consumer, std::uint64_t upto, AckHandler done) override;
  core::Result<std::optional<std::uint64_t>> seq_at_time(std::int64_t since_ms) override {
    return reader_.seq_at_time(since_ms);
  }
  void seq_at_time_async(std::int64_t since_ms,
                         ReadHandler<std::optional<std::uint64_t>> done) override {
    reader_.seq_at_time_async(since_ms, std::move(done));
  }
  void dead_letter_async(const std::string& consumer, std::uint64_t seq,
                         const std::string& reason, AckHandler done) override;
  std::error_code dead_letter(const std::string& consumer, std::uint64_t seq,
                              const std::string& reason) override;
  std::vector<DeadLetter> dead_letters(const std::string& consumer) override;
  void dead_letter_events_async(const std::string& consumer, DeadLettersHandler done) override;
  void clear_dead_letters_async(const std::string& consumer, std::vector<std::uint64_t> seqs,
                                AckHandler done) override;
  core::Result<std::vector<Record>> get(const std::vector<std::uint64_t>& seqs) override {
    return reader_.get(seqs);
  }
  core::Result<std::vector<Record>> query(const QueryFilter& filter) override {
    return reader_.query(filter);
  }
  void query_async(QueryFilter filter, ReadHandler<std::vector<Record>> done) override {
    reader_.query_async(std::move(filter), std::move(done));
  }
  Stats stats() override;
  Stats counters() override;
  std::error_code run_retention() override;
  ChainCheck verify_chain(std::uint64_t from_seq, std::uint64_t to_seq) override;
  void close() override;

 private:
  using Op = StoreWriter::Op;
  using OpKind = StoreWriter::OpKind;

  // loading the state of an opened file (store_open.cpp)
  std::error_code load_state();
  // Open: adds to each consumer's pending the rows after its pending_at that its route selects.
  std::error_code load_pending_tail();

  // consumer writes, as writer tasks (store_consumers.cpp)
  std::error_code register_on_writer(const ConsumerSpec& spec, std::uint64_t* acked_out);
  std::error_code reset_on_writer(const std::string& name, std::uint64_t to_seq,
                                  std::uint64_t* previous);
  // Counts the consumer's dead letters into state_ (writer thread); SQLITE_DONE or the error.
  int count_dead_letters_on_writer(const std::string& consumer);
  std::error_code delete_dead_letters_on_writer(const std::string& consumer,
                                                const std::vector<std::uint64_t>& seqs);
  std::error_code dead_letter_on_writer(const std::string& consumer, std::uint64_t seq,
                                        const std::string& reason);

  // The counter thread's work (counter_thread.hpp):
  // - count_chunk (store_counter.cpp): counts the rows of a consumer's big ack jump and hands
  //   the result to the writer as a recount op. The writer applies it only if no retention
  //   commit happened since the count's snapshot began (a row deleted meanwhile would otherwise
  //   be subtracted twice);
  // - background_check: the deferred integrity check, once after open;
  // - refresh_oldest_unacked: Stats::oldest_unacked_ts_ms per consumer, when stats() asked and
  //   the last refresh is older than kOldestRefreshMs (results in state_).
  CounterThread::Count count_chunk(StmtCache& db);
  void background_check(sqlite3* db);
  void refresh_oldest_unacked(StmtCache& db);

  // helpers
  Stats snapshot(bool full);  // counters(), plus (full) bytes and oldest-unacked times
  static std::string join(const std::vector<std::string>& v);
  static std::vector<std::string> split(const std::string& s);
  std::error_code validate(const Record& r) const;
  std::int64_t now_ms() const { return opt_.now_ms(); }

  Options opt_;
  StoreFile file_{opt_};  // the lock, the check at open, quarantine, creation, migrations
  StoreState state_;
  CounterThread counter_;
  StoreWriter writer_{opt_, state_, counter_};
  StoreReader reader_{state_};
  bool closed_ = false;  // under state_.mu
};

}  // namespace floorgate::store::detail
