#pragma once
// The kit's runtime: subscribes to one consumer stream of one or many gateways, keeps a
// StreamState per gateway (loaded from the sink or the state file, saved with each batch),
// hands new events to a Sink in batches and acks what the sink made durable, as the contract
// wants (docs/consumers.md). One thread; run() returns when `stop` is set or on a fatal error.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "floorgate/consume/sink.hpp"

namespace floorgate::consume {

struct ConsumeOptions {
  std::string consumer;               // the consumer name configured on the gateways
  std::vector<std::string> gateways;  // topic roots, one MQTT session each (with presence)
  // Or a root with wildcards (floor/v1/site-a/+): one session for every gateway under it; the
  // state is still kept per gateway, but presence cannot be announced (one Last Will per
  // session), so those gateways fall back to ack timeouts.
  std::string gateway_pattern;
  std::string host = "127.0.0.1";
  int port = 1883;
  std::string username, password, cafile;
  std::string client_id;    // prefix; default floorgate-consume-<consumer>
  std::string state_path;   // positions of sinks that keep none (jsonl, exec)
  std::size_t batch_max = 1000;                 // events per sink commit at most
  std::chrono::milliseconds batch_wait{20};     // a partial batch waits at most this long
  bool presence = true;
};

// Exit codes of run() (and of floorgate-consume).
enum ExitCode : int {
  kExitOk = 0,
  kExitUsage = 2,
  kExitSchema = 3,     // an event of a newer schema major version: stopped without acking it
  kExitSinkFatal = 4,  // the sink contradicts the positions (postgres duplicate key)
  kExitState = 5,      // the state file or the sink's positions cannot be read
};

int run(const ConsumeOptions& options, Sink& sink, const std::atomic<bool>& stop);

}  // namespace floorgate::consume
