#pragma once
// SAS lookup tables: exception code -> normalized event, denominations, bills, meter names.

#include <cstdint>
#include <optional>
#include <string>

#include "floorgate/drivers/event.hpp"

namespace floorgate::drivers::sas {

// How one general-poll exception code maps onto the normalized taxonomy (DESIGN.md).
struct ExceptionInfo {
  const char* type;        // e.g. "door.opened"
  EventClass cls;
  const char* attr_key;    // optional extra attr (e.g. "door"), nullptr if none
  const char* attr_value;
};
// Never fails: unknown codes map to "egm.exception" (operational).
ExceptionInfo describe_exception(std::uint8_t code);
// Exceptions that mean the EGM's meters restarted (RAM clear, 7A).
bool is_meter_reset_code(std::uint8_t code);
// Bill value in dollars for the non-RTE bill-accepted codes 47..50 (not 4F).
std::optional<std::uint32_t> bill_code_dollars(std::uint8_t code);
// Bill value in dollars for the RTE / LP 48 denomination code (Table C-6 subset).
std::optional<std::uint32_t> rte_bill_dollars(std::uint8_t denom_code);
// ISO currency for an RTE / LP 48 country code ("USD" for 0x37), or "country:XX".
std::string bill_currency(std::uint8_t country_code);
// Accounting denomination in cents for an LP 1F denomination code (Table C-4).
std::optional<std::uint32_t> denomination_cents(std::uint8_t code);
// A one-byte code as it appears in events' attrs and sources: "0x%02x" (e.g. "0x1b").
std::string code_hex(std::uint8_t code);
// Human name for an LP 2F meter code, e.g. "coin_in"; "meter_XX" when unknown.
std::string meter_name(std::uint8_t code);
// "credits", "cents", "count" or "hundredths_pct".
const char* meter_unit(std::uint8_t code);

}  // namespace floorgate::drivers::sas
