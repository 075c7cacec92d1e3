#pragma once
// The operator's control socket (docs/audit.md, "Moving a consumer's cursor"): a Unix stream
// socket beside the store, through which `floorgate consumer reset` asks the running daemon
// to move a consumer's cursor. One JSON request line in, one JSON reply line out, per
// connection. Access is the file's: mode 0660, owned by the service user (and root).

#include <boost/asio/any_io_executor.hpp>
#include <boost/json/object.hpp>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <system_error>

#include "floorgate/store/store.hpp"

namespace floorgate::gateway {

// <directory of the store file>/control.sock
std::filesystem::path control_socket_path(const std::filesystem::path& store_path);

// The audit event a consumer reset stores (same type and attributes from the daemon and from
// the tool working on a file no daemon holds).
inline constexpr const char* kConsumerResetType = "gateway.consumer_reset";
std::string consumer_reset_attrs(const std::string& consumer, std::uint64_t previous,
                                 std::uint64_t to_seq, const std::string& by,
                                 const std::string& via);
// Why a reset was refused, in words (the same from the daemon and the tool): unknown consumer,
// a seq outside the kept rows (with the range from `st`), or the error's own message.
std::string consumer_reset_refusal(std::error_code ec, const std::string& consumer,
                                   std::uint64_t to_seq, const store::Stats& st);
// The login name of a uid ("uid N" when it has none): who asked, for the audit event.
std::string user_name(unsigned uid);

// Serves the control socket on the event loop. Requests are bounded (4 KiB, 5 s to arrive,
// 4 connections at a time); `handle` gets the request object and the peer's user name
// (SO_PEERCRED) and answers through `reply` exactly once, possibly later.
class ControlServer {
 public:
  using Reply = std::function<void(boost::json::object)>;
  using Handler =
      std::function<void(const boost::json::object& request, const std::string& peer, Reply reply)>;
  ControlServer(boost::asio::any_io_executor ex, std::filesystem::path path, Handler handle);
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;
  // Replaces a stale socket file (the caller holds the store lock, so no other daemon uses it).
  std::error_code start();
  void stop();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace floorgate::gateway
