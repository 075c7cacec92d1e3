#pragma once
// The configuration as JSON for the web forms (secrets left out), and a one-line summary of
// what changed between two configurations for the config.changed audit event.

#include <boost/json/object.hpp>
#include <string>

#include "floorgate/config/config.hpp"

namespace floorgate::gateway::app {

boost::json::object config_to_json(const config::Config& c);
// e.g. "egms added: bank3-09; buses changed: bus0; consumers changed"; "no change".
std::string describe_change(const config::Config& before, const config::Config& after);

}  // namespace floorgate::gateway::app
