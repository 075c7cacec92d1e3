#include "lines.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace floorgate::consume {

std::string jsonl_lines(const std::vector<Delivered>& batch) {
  std::string out;
  for (const auto& d : batch) {
    out += "{\"gateway\":";
    out += boost::json::serialize(boost::json::value(d.gateway));
    out += ",\"event\":";
    out += d.payload;  // already one JSON object on one line (the gateway writes no newlines)
    out += "}\n";
  }
  return out;
}

}  // namespace floorgate::consume
