// The store error category.
#include <string>

#include "floorgate/store/store.hpp"

namespace floorgate::store {
namespace {

class StoreCategory : public std::error_category {
 public:
  const char* name() const noexcept override { return "floorgate.store"; }
  std::string message(int ev) const override {
    switch (static_cast<Errc>(ev)) {
      case Errc::ok: return "ok";
      case Errc::invalid_event: return "invalid event";
      case Errc::payload_too_large: return "payload too large";
      case Errc::disk_full: return "disk full";
      case Errc::io_error: return "store I/O error";
      case Errc::locked: return "store is locked by another process";
      case Errc::corrupt: return "store file is corrupt";
      case Errc::closed: return "store is closed";
      case Errc::unknown_consumer: return "unknown consumer";
      case Errc::ack_beyond_sent: return "ack beyond the highest seq sent";
      case Errc::ack_backwards: return "ack below the acked cursor";
      case Errc::out_of_range: return "seq out of range";
      case Errc::schema_too_new: return "store schema is newer than this program";
      case Errc::busy: return "store is busy with other reads";
    }
    return "unknown store error";
  }
};

}  // namespace

const std::error_category& store_category() {
  static const StoreCategory cat;
  return cat;
}

std::error_code make_error_code(Errc e) { return {static_cast<int>(e), store_category()}; }

std::chrono::microseconds commit_average(std::chrono::microseconds avg,
                                         std::chrono::microseconds sample) {
  if (avg.count() == 0) return sample;  // the first commit seeds it
  return avg + (sample - avg) / 8;
}

}  // namespace floorgate::store
