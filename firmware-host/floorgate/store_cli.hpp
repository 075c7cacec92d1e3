#pragma once
// `floorgate store stats|verify|export` (read-only operator tools on a store file).
#include <string>
#include <vector>

namespace floorgate::host {

// args[0] = "floorgate", args[1] = "store"; returns the process exit status (verify: 0 the
// chain holds, 1 it does not; 2 usage or I/O errors).
int run_store_command(const std::vector<std::string>& args);

}  // namespace floorgate::host

namespace floorgate::host {

// `floorgate consumer reset NAME --to SEQ [--db PATH]` (consumer_cli.cpp): through the running
// daemon's control socket, or on the store file when no daemon holds it. 0 done, 1 refused
// (unknown consumer, seq out of range, daemon busy), 2 usage or I/O errors.
int run_consumer_command(const std::vector<std::string>& args);

}  // namespace floorgate::host
