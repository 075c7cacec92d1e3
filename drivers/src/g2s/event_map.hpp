#pragma once
// Maps G2S eventReport / eventHandlerLog / meterInfo elements to normalized Events with the
// same `type` names the SAS driver produces. Pure functions, any thread.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "floorgate/drivers/event.hpp"
#include "floorgate/drivers/reconcile.hpp"
#include "g2s/xml_codec.hpp"

namespace floorgate::drivers::g2s {

// The normalized type and class for a G2S event code (e.g. G2S_CBE307 -> door.opened,
// security). Unknown codes map to "g2s.event", operational.
struct CodeInfo {
  std::string_view type;
  EventClass cls;
  std::string_view door;  // door name for door events, else empty
  bool powered_off = false;
};
CodeInfo lookup_code(std::string_view code);

// The v1 subscription list (reference §12) used when not subscribing to G2S_all.
const std::vector<std::string_view>& v1_event_codes();

// Builds the Event for one eventReport (or eventHandlerLog entry); `raw_inner` is the whole
// inner message for audit (dropped when large). egm/ts_gw_ms set by the caller.
Event map_event(const Element& report, std::string_view raw_inner);

// What one money eventReport adds to its EGM's reconciliation (docs/reconciliation.md): the
// category, the amount in millicents (nullopt: the event carried no readable amount) and, when
// its meterList holds the category's meters, their sum as of this event and which of them
// were there ("class/name,...": a window only compares readings of the same meters).
struct MoneyReading {
  ReconCategory category{};
  std::optional<std::uint64_t> amount_mc;
  std::optional<std::uint64_t> meter_mc;
  std::string meter_names;
};
// Bills stacked (NAE114), vouchers printed (VCE103) and redeemed (VCE108), handpays keyed off
// (JPE104); nullopt for every other event.
std::optional<MoneyReading> money_reading(const Element& report);

// Builds one or more meters.snapshot events (chunks of at most max_per_event meters) from a
// meterInfo element. Amounts stay in millicents as exact integers.
std::vector<Event> map_meter_info(const Element& meter_info, std::size_t max_per_event = 400);

// Lower-case hex of `bytes`.
std::string to_hex(std::string_view bytes);

}  // namespace floorgate::drivers::g2s
