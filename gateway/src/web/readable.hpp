#pragma once
// An event's attributes in words, as the page shows them (gateway/web-assets/app.js,
// eventDetails): money as currency, meters by name with their deltas. Used for the readable
// columns of GET /api/events.csv (beside the raw ones, never instead).

#include <boost/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace floorgate::gateway::web::detail {

// "$1,234.56", "-€0.05", "12.00 CHF" (USD when `currency` is empty).
std::string money_text(std::int64_t cents, std::string_view currency);
// "1234.56": a plain decimal a spreadsheet reads as a number.
std::string decimal_text(std::int64_t cents);
// The event's amount: the first top-level attribute named cents or *_cents (not
// denomination_cents).
std::optional<std::int64_t> amount_cents(const boost::json::object& attrs);
// "coin in $26.46 (+$1.45) · door=main": every scalar attribute, cents as money, each meter
// of `meters` by name (credits as money through denomination_cents when the event has it).
std::string readable_details(const boost::json::object& attrs);

}  // namespace floorgate::gateway::web::detail
