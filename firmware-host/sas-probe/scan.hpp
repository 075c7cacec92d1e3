#pragma once
// floorgate-sas-probe --scan: which SAS addresses answer on a line, and whether two machines
// seem to share one. Reads LP 54 (SAS version and serial) from each address; it never sends a
// general poll and so never takes (implied-ACKs) an exception from a machine.

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <memory>

#include "floorgate/drivers/sas/byte_stream.hpp"
#include "floorgate/drivers/sas/config.hpp"

namespace floorgate::probe {

struct ScanOptions {
  std::uint8_t first = 1, last = 127;                // addresses to try
  std::chrono::milliseconds reply_timeout{0};        // 0 = the link's default
  std::chrono::milliseconds inter_byte{0};           // 0 = the link's default
  int confirm_reads = 3;                             // extra LP 54 reads of each answering address
};

// Runs the scan on `io` (which must not be running yet) over `stream` and prints one JSON line
// per answering address, then a summary line. Returns the number of addresses that answered,
// or -1 when the port could not be opened.
int run_scan(boost::asio::io_context& io, std::unique_ptr<drivers::sas::ByteStream> stream,
             drivers::sas::BusConfig::Link link, const ScanOptions& opt);

}  // namespace floorgate::probe
