#pragma once
// The configuration's keys as data: for every key of the YAML file its section, type, allowed
// values, default and a one-line help. The loader takes each section's key set from here (a key
// the table lacks is an unknown key), config_schema_json() turns the table into the JSON Schema
// the web page renders its forms from (GET /api/config/schema, docs/schemas/config.schema.json),
// and tests/config/config_schema_test.cpp checks ranges, choices and defaults against the loader
// and the example file. Thread: any (constant data).

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace floorgate::config {

// What a key holds.
enum class KeyKind : std::uint8_t {
  string,       // free text
  name,         // [A-Za-z0-9_-], 1-64 characters (appears in topics)
  integer,      // lo..hi (0 also allowed when zero_allowed)
  boolean,
  choice,       // one of choices
  string_list,  // list of free text
  choice_list,  // list of choices, each once
  code_list,    // SAS meter codes 0x0000-0xFFFF (decimal or 0x hex), each once
  file,         // path of a readable file ("" = none)
  object,       // a mapping: its keys are the entries whose section is this key's path
  object_list,  // a list of mappings: their keys have section "<path>[]"
};

// Bus drivers a key applies to (bit per config::Driver); kAllDrivers = not driver-specific.
inline constexpr unsigned kSasSerial = 1, kSasTcp = 2, kG2s = 4;
inline constexpr unsigned kSas = kSasSerial | kSasTcp;
inline constexpr unsigned kAllDrivers = kSas | kG2s;

struct KeySpec {
  std::string_view section;  // "" (top level), "mqtt", "buses[]", "buses[].egms[]", ...
  std::string_view key;
  KeyKind kind;
  std::string_view help;           // one line, for the form and the schema's description
  std::string_view default_json;   // the default as JSON text; "" = none (required, or unset)
  std::string_view default_note;   // when the default is computed or "unset": what it is
  std::int64_t lo = 0, hi = 0;     // integer range
  bool zero_allowed = false;       // integer: 0 is also accepted (and means "off")
  std::span<const std::string_view> choices = {};  // choice, choice_list
  bool required = false;           // within its section (for a driver: drivers)
  bool advanced = false;           // folded away in the form
  bool secret = false;             // never shown to viewers
  std::size_t max_length = 0;      // string: longest accepted (0 = no limit of its own)
  unsigned drivers = kAllDrivers;  // buses[] and buses[].egms[] keys: which drivers
  std::string_view example = {};   // a placeholder for keys without a default
};

// Every key, sections in file order.
std::span<const KeySpec> config_keys();

// The keys of `section` that apply to `driver_bit` (kAllDrivers = every key of the section).
std::vector<std::string_view> section_keys(std::string_view section,
                                           unsigned driver_bit = kAllDrivers);
// The keys of `section` that do not apply to `driver_bit` (the other protocols' keys).
std::vector<std::string_view> other_driver_keys(std::string_view section, unsigned driver_bit);

// The spec of one key; nullptr when the table has none.
const KeySpec* find_key(std::string_view section, std::string_view key);

// The JSON Schema (draft 2020-12) of the configuration file, pretty-printed, ending in "\n".
// What `floorgate --print-config-schema` prints; docs/schemas/config.schema.json is a copy.
std::string config_schema_json();

}  // namespace floorgate::config
