// The event log's append: checked on the caller's thread, queued for the writer, answered
// once the commit holding it is durable (store_writer.hpp).
#include <future>

#include "sqlite_store.hpp"

namespace floorgate::store::detail {

namespace {
constexpr std::size_t kMaxEgmLen = 64;
constexpr std::size_t kMaxTypeLen = 128;
constexpr std::size_t kMaxSourceLen = 128;

bool is_hex(const std::string& s) {
  if (s.size() % 2 != 0) return false;
  for (char c : s) {
    bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (!ok) return false;
  }
  return true;
}
}  // namespace

std::error_code SqliteStore::validate(const Record& r) const {
  if (r.egm.empty() || r.egm.size() > kMaxEgmLen || r.type.empty() ||
      r.type.size() > kMaxTypeLen || r.source.size() > kMaxSourceLen) {
    return make_error_code(Errc::invalid_event);
  }
  if (static_cast<int>(r.cls) > static_cast<int>(EventClass::telemetry)) {
    return make_error_code(Errc::invalid_event);
  }
  if (r.attrs_json.size() + r.raw_hex.size() > opt_.max_payload_bytes) {
    return make_error_code(Errc::payload_too_large);
  }
  if (r.attrs_json.size() < 2 || r.attrs_json.front() != '{' || r.attrs_json.back() != '}' ||
      !is_hex(r.raw_hex)) {
    return make_error_code(Errc::invalid_event);
  }
  return {};
}

void SqliteStore::append(Record r, AppendHandler on_durable) {
  std::error_code ec = validate(r);
  Op op;
  if (!ec) {
    op.kind = OpKind::append;
    op.rec = std::move(r);
    op.on_append = std::move(on_durable);
    std::unique_lock lk(state_.mu);
    if (std::size_t n = writer_.push_locked(std::move(op))) {
      lk.unlock();
      if (n == 1 || n == opt_.max_batch) writer_.wake();
      return;
    }
    ec = make_error_code(Errc::closed);
    on_durable = std::move(op.on_append);
    r = std::move(op.rec);
  }
  {
    std::lock_guard lk(state_.mu);
    ++state_.append_failures_total;
  }
  if (on_durable) on_durable(ec, r);
}

std::error_code SqliteStore::append_sync(Record r, Record* stored) {
  std::promise<std::error_code> done;
  auto fut = done.get_future();
  append(std::move(r), [&](std::error_code ec, const Record& rec) {
    if (stored) *stored = rec;
    done.set_value(ec);
  });
  return fut.get();
}

}  // namespace floorgate::store::detail
