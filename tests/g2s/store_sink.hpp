#pragma once
// EventSink over the real store (store::Store): append -> group commit on the store's writer
// thread -> on_durable posted back to the driver's executor. The shape the daemon uses.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/post.hpp>

#include "floorgate/drivers/event.hpp"
#include "floorgate/drivers/g2s/host.hpp"
#include "floorgate/store/store.hpp"

namespace floorgate::g2stest {

class StoreSink : public drivers::EventSink {
 public:
  StoreSink(boost::asio::any_io_executor ex, store::Store& s) : ex_(ex), store_(s) {}
  void submit(drivers::Event e, drivers::DurableHandler done) override {
    store::Record r;
    r.egm = std::move(e.egm);
    r.type = std::move(e.type);
    r.cls = *store::parse_event_class(drivers::to_string(e.cls));
    r.ts_gw_ms = e.ts_gw_ms;
    r.ts_egm_ms = e.ts_egm_ms;
    r.source = std::move(e.source);
    r.attrs_json = std::move(e.attrs_json);
    r.raw_hex = std::move(e.raw_hex);
    store_.append(std::move(r), [ex = ex_, done = std::move(done)](std::error_code ec, const store::Record& st) {
      boost::asio::post(ex, [done, ec, seq = st.seq] { done(ec, seq); });
    });
  }

  // Dedupe keys of the newest G2S events of one EGM, for HostConfig::recent_keys.
  static std::vector<drivers::g2s::SeenKey> recent_keys(store::Store& s, const std::string& egm,
                                                        std::size_t limit = 4096) {
    store::QueryFilter f;
    f.egm = egm;
    f.limit = limit;
    drivers::g2s::SeenKeys keys;
    auto rows = s.query(f).value();  // newest first
    for (auto it = rows.rbegin(); it != rows.rend(); ++it) {
      if (it->source.rfind("g2s:", 0) == 0) keys.add(it->attrs_json);
    }
    return keys.keys();
  }

 private:
  boost::asio::any_io_executor ex_;
  store::Store& store_;
};

}  // namespace floorgate::g2stest
