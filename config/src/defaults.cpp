// The embedded default configuration: runs the demo (local Mosquitto, 8 simulated SAS EGMs on
// one pty bus). Printed by `floorgate --print-default-config`; a unit test loads it.

#include "floorgate/config/config.hpp"

namespace floorgate::config {

namespace {

constexpr const char* kDefaults = R"yaml(# floorgate default configuration (embedded). Every key not shown here keeps its
# built-in default; config/examples/floorgate.example.yaml documents every key.

gateway:
  id: gw-01                  # required; A-Z a-z 0-9 - _ ; used in MQTT topics
  site: demo                 # required; A-Z a-z 0-9 - _
  # topic_root: floor/v1/demo/gw-01   # default floor/v1/<site>/<id>; no '+' or '#'

logging:
  level: info                # trace | debug | info | warn | error

store:
  path: /var/lib/floorgate/floorgate.db   # SQLite store-and-forward file
  retention:
    max_size_mb: 1024        # 1-1048576; only acked events are ever deleted
    max_age_days: 90         # 1-3650

mqtt:
  host: 127.0.0.1            # broker host name or IP
  port: 1883                 # 1-65535
  keepalive_s: 30            # 5-3600
  stall_timeout_s: 20        # 1-600: no broker progress for this long -> reconnect
  live_copy: false           # also publish untracked <root>/live/... copies
  health_period_s: 10        # 1-3600: <root>/health period

consumers:
  - name: slot-mgmt
    route: {classes: [financial, security]}
    required: true           # retention waits for its acks
  - name: maintenance
    route: {classes: [fault, security]}
    required: true
  - name: analytics          # every class, type and EGM
    required: false

buses:
  - id: bus0
    driver: sas-serial       # sas-serial | sas-tcp | g2s
    port: /run/floorgate/sim-bus0   # the simulator's pty (may appear after start-up)
    link: pty                # uart | pty (pty = in-band 9th-bit marking, for simulators)
    egms:
      - {id: sim-01, address: 1}
      - {id: sim-02, address: 2}
      - {id: sim-03, address: 3}
      - {id: sim-04, address: 4}
      - {id: sim-05, address: 5}
      - {id: sim-06, address: 6}
      - {id: sim-07, address: 7}
      - {id: sim-08, address: 8}

web:
  enabled: true
  bind: 127.0.0.1            # IP literal to bind
  port: 8080                 # 1-65535
  session_idle_timeout_s: 900
  # allowed_hosts: [floor-gw-01.casino.lan]   # names the page is reached by, besides IPs,
  #                                           # localhost and this machine's host name
  # No accounts ship with a known password. Add one (prompts for the password):
  #   floorgate user add NAME --role technician --config /etc/floorgate/floorgate.yaml
  users: []
)yaml";

}  // namespace

std::string default_config_yaml() { return kDefaults; }

}  // namespace floorgate::config
