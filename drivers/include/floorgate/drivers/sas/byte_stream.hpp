#pragma once
// The transport seam under the SAS engine. Received bytes use the PARMRK convention on every
// link: FF 00 X = X with the wakeup (9th) bit, FF FF = data 0xFF, anything else = data. Frames
// are written as plain bytes; the stream marks the first byte with the wakeup bit its own way
// (stick parity on a UART, the in-band FF 00 X escape on a pty or TCP). One read and one write
// in flight at a time; handlers run on the stream's executor, never inline.

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <system_error>
#include <vector>

namespace floorgate::drivers::sas {

class ByteStream {
 public:
  using ReadHandler = std::function<void(std::error_code, std::span<const std::uint8_t>)>;
  using Handler = std::function<void(std::error_code)>;
  virtual ~ByteStream() = default;
  // Opens the underlying port/socket.
  virtual void async_open(Handler h) = 0;
  // Delivers the next chunk of received bytes (PARMRK-encoded, see above).
  virtual void async_read(ReadHandler h) = 0;
  // Sends one host transmission; frame[0] carries the wakeup bit. The stream copies what it
  // still needs before returning. `h` may run inline (before this returns) when the bytes went
  // out at once; errors are always posted.
  virtual void async_write_frame(std::span<const std::uint8_t> frame, Handler h) = 0;
  // Closes; outstanding handlers complete with operation_aborted. Never blocks.
  virtual void close() = 0;
};

// pty (or any tty without parity) path with in-band escaping.
std::unique_ptr<ByteStream> make_pty_stream(boost::asio::any_io_executor ex, std::string path);
// TCP to a serial device server / the simulator's --tcp, "host:port", in-band escaping.
std::unique_ptr<ByteStream> make_tcp_stream(boost::asio::any_io_executor ex, std::string host_port);
// Real UART via libserialport, 19200 8N1, stick parity for the wakeup byte, PARMRK receive.
// `wakeup_delay`: extra wait after tcdrain before parity goes back to space (USB adapters);
// `low_latency`: request ASYNC_LOW_LATENCY from the serial driver (best effort, logged by the
// caller through the open error only when the port itself fails).
std::unique_ptr<ByteStream> make_uart_stream(boost::asio::any_io_executor ex, std::string path,
                                             std::chrono::microseconds wakeup_delay = {},
                                             bool low_latency = false);
// Names of the serial ports libserialport can see (for the technician page / probe).
std::vector<std::string> list_serial_ports();

// Escapes a host frame for an in-band link: FF 00 frame[0], then each 0xFF doubled. The
// second form writes into `out` (replacing its contents, keeping its capacity).
std::vector<std::uint8_t> escape_frame(std::span<const std::uint8_t> frame);
void escape_frame(std::span<const std::uint8_t> frame, std::vector<std::uint8_t>& out);

}  // namespace floorgate::drivers::sas
