#pragma once
// The jsonl form shared by the jsonl and exec sinks.
#include <string>
#include <vector>

#include "floorgate/consume/sink.hpp"

namespace floorgate::consume {

// {"gateway":"<root>","event":<payload>}\n per event.
std::string jsonl_lines(const std::vector<Delivered>& batch);

}  // namespace floorgate::consume
