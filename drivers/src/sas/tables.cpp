#include "sas/tables.hpp"

#include <cstdio>

namespace floorgate::drivers::sas {
namespace {
using C = EventClass;
}  // namespace

ExceptionInfo describe_exception(std::uint8_t code) {
  switch (code) {
    case 0x11: return {"door.opened", C::security, "door", "main"};
    case 0x12: return {"door.closed", C::security, "door", "main"};
    case 0x13: return {"door.opened", C::security, "door", "drop"};
    case 0x14: return {"door.closed", C::security, "door", "drop"};
    case 0x15: return {"door.opened", C::security, "door", "logic"};
    case 0x16: return {"door.closed", C::security, "door", "logic"};
    case 0x17: return {"power.applied", C::operational, nullptr, nullptr};
    case 0x18: return {"power.lost", C::fault, nullptr, nullptr};
    case 0x19: return {"door.opened", C::security, "door", "cashbox"};
    case 0x1A: return {"door.closed", C::security, "door", "cashbox"};
    case 0x1B: return {"bill.stacker_removed", C::security, nullptr, nullptr};
    case 0x1C: return {"bill.stacker_installed", C::security, nullptr, nullptr};
    case 0x1D: return {"door.opened", C::security, "door", "belly"};
    case 0x1E: return {"door.closed", C::security, "door", "belly"};
    case 0x1F: return {"egm.waiting_for_input", C::telemetry, nullptr, nullptr};
    case 0x20: return {"tilt.general", C::fault, nullptr, nullptr};
    case 0x21: return {"tilt.coin_in", C::fault, nullptr, nullptr};
    case 0x22: return {"tilt.coin_out", C::fault, nullptr, nullptr};
    case 0x23: return {"tilt.hopper_empty", C::fault, nullptr, nullptr};
    case 0x24: return {"tilt.extra_coin_paid", C::fault, nullptr, nullptr};
    case 0x25: return {"tilt.diverter", C::fault, nullptr, nullptr};
    case 0x27: return {"bill.stacker_full", C::fault, nullptr, nullptr};
    case 0x28: return {"bill.jam", C::fault, nullptr, nullptr};
    case 0x29: return {"bill.acceptor_failure", C::fault, nullptr, nullptr};
    case 0x2A: return {"bill.reversed", C::operational, nullptr, nullptr};
    case 0x2B: return {"bill.rejected", C::operational, nullptr, nullptr};
    case 0x2C: return {"bill.counterfeit", C::security, nullptr, nullptr};
    case 0x2D: return {"tilt.reverse_coin", C::fault, nullptr, nullptr};
    case 0x2E: return {"bill.stacker_near_full", C::operational, nullptr, nullptr};
    case 0x2F: return {"bill.acceptor_version_changed", C::security, nullptr, nullptr};
    // 31..35, 3A: battery-backed memory trouble (a fault; only 32, 33 and 3A lose meters).
    case 0x31: case 0x32: case 0x33: case 0x34: case 0x35: case 0x3A:
      return {"egm.memory_error", C::fault, nullptr, nullptr};
    // 36..39: the (partitioned) EPROM signature changed or failed its compare. The software
    // on a regulated machine changed: an integrity matter for security, not a fault.
    case 0x36: case 0x38: return {"egm.software_changed", C::security, nullptr, nullptr};
    case 0x37: case 0x39: return {"egm.software_checksum_failed", C::security, nullptr, nullptr};
    case 0x3B: return {"egm.low_battery", C::fault, nullptr, nullptr};
    case 0x3C: return {"egm.options_changed", C::security, nullptr, nullptr};
    case 0x3D: return {"ticket.printed", C::financial, nullptr, nullptr};
    case 0x3E: return {"handpay.validated", C::financial, nullptr, nullptr};
    case 0x3F: return {"validation.id_not_configured", C::fault, nullptr, nullptr};
    case 0x40: case 0x41: case 0x42: case 0x43: case 0x44: case 0x45:
      return {"tilt.reel", C::fault, nullptr, nullptr};
    case 0x46: return {"tilt.reel_disconnected", C::fault, nullptr, nullptr};
    case 0x47: case 0x48: case 0x49: case 0x4A: case 0x4B: case 0x4C: case 0x4D: case 0x4E:
    case 0x4F: case 0x50:
      return {"bill.stacked", C::financial, nullptr, nullptr};
    case 0x51: return {"handpay.pending", C::financial, nullptr, nullptr};
    case 0x52: return {"handpay.reset", C::financial, nullptr, nullptr};
    case 0x53: return {"progressive.no_info", C::fault, nullptr, nullptr};
    case 0x54: return {"progressive.win", C::financial, nullptr, nullptr};
    case 0x55: return {"handpay.cancelled", C::financial, nullptr, nullptr};
    case 0x56: return {"progressive.hit", C::financial, nullptr, nullptr};
    case 0x57: return {"validation.system_request", C::financial, nullptr, nullptr};
    case 0x59: return {"progressive.non_sas_hit", C::financial, nullptr, nullptr};
    case 0x5A: return {"handpay.keyed_off_to_machine", C::financial, nullptr, nullptr};
    case 0x5F: return {"egm.tip_awarded", C::financial, nullptr, nullptr};
    case 0x60: return {"printer.comm_error", C::fault, nullptr, nullptr};
    case 0x61: return {"printer.paper_empty", C::fault, nullptr, nullptr};
    case 0x66: return {"egm.cashout_pressed", C::operational, nullptr, nullptr};
    case 0x67: return {"ticket.inserted", C::financial, nullptr, nullptr};
    case 0x68: return {"ticket.redeemed", C::financial, nullptr, nullptr};
    case 0x69: return {"aft.transfer_complete", C::financial, nullptr, nullptr};
    case 0x6A: return {"aft.host_cashout_request", C::financial, nullptr, nullptr};
    case 0x6B: return {"aft.cashout_win_request", C::financial, nullptr, nullptr};
    case 0x6C: return {"aft.registration_request", C::security, nullptr, nullptr};
    case 0x6D: return {"aft.registration_acknowledged", C::security, nullptr, nullptr};
    case 0x6E: return {"aft.registration_cancelled", C::security, nullptr, nullptr};
    case 0x6F: return {"game.locked", C::financial, nullptr, nullptr};
    case 0x70: return {"egm.exception_overflow", C::fault, nullptr, nullptr};
    case 0x71: return {"egm.change_lamp_on", C::operational, nullptr, nullptr};
    case 0x72: return {"egm.change_lamp_off", C::operational, nullptr, nullptr};
    case 0x74: return {"printer.paper_low", C::fault, nullptr, nullptr};
    case 0x75: return {"printer.power_off", C::fault, nullptr, nullptr};
    case 0x76: return {"printer.power_on", C::operational, nullptr, nullptr};
    case 0x77: return {"printer.replace_ribbon", C::fault, nullptr, nullptr};
    case 0x78: return {"printer.carriage_jam", C::fault, nullptr, nullptr};
    case 0x79: return {"tilt.coin_in_lockout", C::fault, nullptr, nullptr};
    case 0x7A: return {"meters.reset", C::financial, nullptr, nullptr};
    case 0x7B: return {"bill.period_totals_reset", C::operational, nullptr, nullptr};
    case 0x7C: return {"bonus.awarded", C::financial, nullptr, nullptr};
    case 0x7E: return {"game.started", C::telemetry, nullptr, nullptr};
    case 0x7F: return {"game.ended", C::telemetry, nullptr, nullptr};
    case 0x80: return {"hopper.full", C::operational, nullptr, nullptr};
    case 0x81: return {"hopper.low", C::operational, nullptr, nullptr};
    case 0x82: return {"egm.attendant_menu_entered", C::operational, nullptr, nullptr};
    case 0x83: return {"egm.attendant_menu_exited", C::operational, nullptr, nullptr};
    case 0x84: return {"egm.operator_menu_entered", C::security, nullptr, nullptr};
    case 0x85: return {"egm.operator_menu_exited", C::security, nullptr, nullptr};
    case 0x86: return {"egm.out_of_service", C::operational, nullptr, nullptr};
    case 0x87: return {"game.draw_requested", C::telemetry, nullptr, nullptr};
    case 0x88: return {"game.reel_stopped", C::telemetry, nullptr, nullptr};
    case 0x89: return {"game.credits_wagered", C::telemetry, nullptr, nullptr};
    case 0x8A: return {"game.recall_displayed", C::telemetry, nullptr, nullptr};
    case 0x8B: return {"game.card_held", C::telemetry, nullptr, nullptr};
    case 0x8C: return {"game.selected", C::telemetry, nullptr, nullptr};
    case 0x8E: return {"egm.components_changed", C::security, nullptr, nullptr};
    case 0x8F: return {"egm.authentication_complete", C::security, nullptr, nullptr};
    case 0x98: return {"door.opened", C::security, "door", "logic"};
    case 0x99: return {"door.opened", C::security, "door", "main"};
    case 0x9A: return {"door.opened", C::security, "door", "cashbox"};
    case 0x9B: return {"door.opened", C::security, "door", "drop"};
    case 0x9E: return {"egm.play_period_started", C::telemetry, nullptr, nullptr};
    case 0x9F: return {"egm.play_period_ended", C::telemetry, nullptr, nullptr};
    case 0xA0: return {"meters.change_pending", C::financial, nullptr, nullptr};
    case 0xA1: return {"meters.change_cancelled", C::financial, nullptr, nullptr};
    case 0xA2: return {"egm.games_changed", C::security, nullptr, nullptr};
    default: return {"egm.exception", C::operational, nullptr, nullptr};
  }
}

bool is_meter_reset_code(std::uint8_t code) {
  // 32 (RAM error, no data recovered), 33 (bad RAM device), 3A (memory error reset) and 7A
  // (soft meters reset to zero). 31 recovered from EEPROM, 34..39 do not touch the meters.
  return code == 0x32 || code == 0x33 || code == 0x3A || code == 0x7A;
}

std::optional<std::uint32_t> bill_code_dollars(std::uint8_t code) {
  switch (code) {
    case 0x47: return 1;
    case 0x48: return 5;
    case 0x49: return 10;
    case 0x4A: return 20;
    case 0x4B: return 50;
    case 0x4C: return 100;
    case 0x4D: return 2;
    case 0x4E: return 500;
    case 0x50: return 200;
    default: return std::nullopt;
  }
}

std::optional<std::uint32_t> rte_bill_dollars(std::uint8_t d) {
  static constexpr std::uint32_t kValues[] = {1,    2,    5,    10,    20,    25,    50,
                                              100,  200,  250,  500,   1000,  2000,  2500,
                                              5000, 10000, 20000, 25000, 50000, 100000};
  if (d < std::size(kValues)) return kValues[d];
  return std::nullopt;
}

std::string bill_currency(std::uint8_t country) {
  if (country == 0x37) return "USD";
  if (country == 0x39) return "EUR";
  char buf[16];
  std::snprintf(buf, sizeof buf, "country:%02x", country);
  return buf;
}

std::optional<std::uint32_t> denomination_cents(std::uint8_t code) {
  static constexpr std::uint32_t kCents[] = {
      0,      1,      5,      10,     25,     50,     100,    500,    1000,
      2000,   10000,  20,     200,    250,    2500,   5000,   20000,  25000,
      50000,  100000, 200000, 250000, 500000, 2,      3,      15,     40};
  if (code >= 1 && code < std::size(kCents)) return kCents[code];
  return std::nullopt;
}

std::string code_hex(std::uint8_t code) {
  static constexpr char kHex[] = "0123456789abcdef";
  return {'0', 'x', kHex[code >> 4], kHex[code & 0x0F]};
}

std::string meter_name(std::uint8_t code) {
  switch (code) {
    case 0x00: return "coin_in";
    case 0x01: return "coin_out";
    case 0x02: return "jackpot";
    case 0x03: return "handpaid_cancelled_credits";
    case 0x04: return "cancelled_credits";
    case 0x05: return "games_played";
    case 0x06: return "games_won";
    case 0x07: return "games_lost";
    case 0x0B: return "bills_accepted_credits";
    case 0x0C: return "current_credits";
    case 0x0D: return "ticket_in_cashable_cents";
    case 0x0E: return "ticket_out_cashable_cents";
    case 0x0F: return "ticket_in_restricted_cents";
    case 0x10: return "ticket_out_restricted_cents";
    case 0x11: return "tickets_in_cashable";
    case 0x12: return "tickets_out_cashable";
    case 0x1D: return "machine_paid_progressive_credits";
    case 0x1E: return "machine_paid_bonus_credits";
    case 0x40: return "bills_1";
    case 0x41: return "bills_2";
    case 0x42: return "bills_5";
    case 0x43: return "bills_10";
    case 0x44: return "bills_20";
    case 0x45: return "bills_25";
    case 0x46: return "bills_50";
    case 0x47: return "bills_100";
    case 0x48: return "bills_200";
    case 0x49: return "bills_250";
    case 0x4A: return "bills_500";
    case 0x4B: return "bills_1000";
    case 0xA0: return "aft_in_cashable_cents";
    case 0xA2: return "aft_in_restricted_cents";
    case 0xA4: return "aft_in_nonrestricted_cents";
    case 0xA6: return "aft_in_debit_cents";
    case 0xB8: return "aft_out_cashable_cents";
    case 0xBA: return "aft_out_restricted_cents";
    case 0xBC: return "aft_out_nonrestricted_cents";
    case 0x22: return "total_won_credits";
    case 0x23: return "total_handpaid_credits";
    case 0x24: return "total_drop";
    case 0x25: return "games_since_power_reset";
    case 0x26: return "games_since_door_closed";
    case 0x3E: return "bills_in_stacker";
    case 0x3F: return "bills_in_stacker_credits";
    default: {
      char buf[16];
      std::snprintf(buf, sizeof buf, "meter_%02x", code);
      return buf;
    }
  }
}

const char* meter_unit(std::uint8_t code) {
  if ((code >= 0x0D && code <= 0x10)) return "cents";
  if (code >= 0x80 && code <= 0x93) return (code % 2 == 0 && code != 0x8A) ? "cents" : "count";
  if ((code >= 0x05 && code <= 0x07) || (code >= 0x11 && code <= 0x14) || code == 0x25 ||
      code == 0x26 || code == 0x3E || (code >= 0x40 && code <= 0x57))
    return "count";
  if (code == 0x7F) return "hundredths_pct";
  if (code >= 0xA0 && code <= 0xBD) return code % 2 == 0 ? "cents" : "count";
  return "credits";
}

}  // namespace floorgate::drivers::sas
