#include "floorgate/gateway/store_sink.hpp"

#include <boost/asio/post.hpp>
#include <memory>

namespace floorgate::gateway {

store::Record to_record(drivers::Event e) {
  store::Record r;
  r.egm = std::move(e.egm);
  r.type = std::move(e.type);
  r.cls = e.cls;
  r.ts_gw_ms = e.ts_gw_ms;
  r.ts_egm_ms = e.ts_egm_ms;
  r.source = std::move(e.source);
  r.attrs_json = e.attrs_json.empty() ? std::string("{}") : std::move(e.attrs_json);
  r.raw_hex = std::move(e.raw_hex);
  return r;
}

StoreSink::StoreSink(boost::asio::any_io_executor ex, store::Store& store)
    : ex_(std::move(ex)), store_(store) {}

void StoreSink::submit(drivers::Event event, drivers::DurableHandler on_durable) {
  ++submitted_;
  // The handler is shared so both the success and the failure path can move it to the loop.
  auto done = std::make_shared<drivers::DurableHandler>(std::move(on_durable));
  store_.append(to_record(std::move(event)), [this, done](std::error_code ec, const store::Record& stored) {
    // Writer thread: copy what the loop needs and hand over; never touch members here.
    auto rec = std::make_shared<store::Record>(stored);
    boost::asio::post(ex_, [this, done, ec, rec] {
      if (ec) {
        ++failed_;
      } else {
        ++durable_;
        for (auto& l : listeners_) l(*rec);
      }
      if (*done) (*done)(ec, ec ? 0 : rec->seq);
    });
  });
}

}  // namespace floorgate::gateway
