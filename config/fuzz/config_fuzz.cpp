// libFuzzer target: any bytes as a configuration file (the web editor's validate/apply take
// them from a client). load_string must not crash, hang or hit UB, and must give a config or at
// least one error, each with a position and a message; an accepted config must survive its own
// round trip (to_yaml -> load_string -> equal).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "floorgate/config/config.hpp"

namespace cfg = floorgate::config;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const cfg::LoadResult r = cfg::load_string(in, "fuzz.yaml");
  if (r.config.has_value() == !r.errors.empty()) std::abort();
  for (const auto& e : r.errors) {
    if (e.message.empty()) std::abort();
  }
  if (r.config) {
    const cfg::LoadResult again = cfg::load_string(cfg::to_yaml(*r.config), "again.yaml");
    // Files referenced by the config (TLS, secrets) may be unreadable here: only a config that
    // loads again must be equal.
    if (again.config && !(*again.config == *r.config)) {
      const auto& a = *r.config;
      const auto& b = *again.config;
      std::fprintf(stderr, "differs: gateway %d store %d mqtt %d consumers %d buses %d web %d log %d\n",
                   a.gateway != b.gateway, a.store != b.store, a.mqtt != b.mqtt,
                   a.consumers != b.consumers, a.buses != b.buses, a.web != b.web,
                   a.log_level != b.log_level);
      std::fprintf(stderr, "round trip changed the config:\n--- first\n%s\n--- again\n%s\n",
                   cfg::to_yaml(*r.config).c_str(), cfg::to_yaml(*again.config).c_str());
      std::abort();
    }
  }
  return 0;
}
