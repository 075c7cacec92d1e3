#pragma once
// Test support: talks to floorgate-egm-sim's control socket (one text command per line, one
// JSON line per answer) and reads its ledger — the simulator's record of every exception it
// raised and whether the host implied-ACKed it. The ledger is how "nothing lost" is proved.

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

namespace floorgate::testing {

struct LedgerEntry {
  int address = 0;
  int code = 0;  // exception code
  std::uint64_t seq = 0;
  std::int64_t raised_at = 0;
  bool acked = false;
  bool dropped = false;
};

class SimControl {
 public:
  explicit SimControl(std::string socket_path) : path_(std::move(socket_path)) {}

  // Sends one command; returns the answer's lines (the ledger answers with many, ending in
  // {"end":true}); empty on connection failure.
  std::vector<std::string> command(const std::string& line) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path_.c_str(), sizeof a.sun_path - 1);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(fd);
      return {};
    }
    std::string msg = line + "\n";
    if (::write(fd, msg.data(), msg.size()) != static_cast<ssize_t>(msg.size())) {
      ::close(fd);
      return {};
    }
    const bool multi = line == "ledger";
    std::vector<std::string> lines;
    std::string buf;
    char chunk[65536];
    timeval tv{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    for (;;) {
      auto n = ::read(fd, chunk, sizeof chunk);
      if (n <= 0) break;
      buf.append(chunk, static_cast<std::size_t>(n));
      std::size_t pos;
      bool done = false;
      while ((pos = buf.find('\n')) != std::string::npos) {
        lines.push_back(buf.substr(0, pos));
        buf.erase(0, pos + 1);
        if (!multi || lines.back().find("\"end\":true") != std::string::npos) done = true;
      }
      if (done) break;
    }
    ::close(fd);
    return lines;
  }

  // True when the answer to `line` has "ok":true.
  bool ok(const std::string& line) {
    auto r = command(line);
    return !r.empty() && r[0].find("\"ok\":true") != std::string::npos;
  }

  std::optional<std::vector<LedgerEntry>> ledger() {
    auto lines = command("ledger");
    if (lines.empty() || lines.back().find("\"end\":true") == std::string::npos) {
      return std::nullopt;
    }
    std::vector<LedgerEntry> out;
    for (const auto& l : lines) {
      boost::system::error_code ec;
      auto v = boost::json::parse(l, ec);
      if (ec || !v.is_object() || !v.as_object().contains("address")) continue;
      auto& o = v.as_object();
      LedgerEntry e;
      e.address = static_cast<int>(o.at("address").to_number<int>());
      e.code = std::stoi(std::string(o.at("code").as_string()), nullptr, 16);
      e.seq = o.at("seq").to_number<std::uint64_t>();
      e.raised_at = o.at("raised_at").to_number<std::int64_t>();
      e.acked = o.at("acked").as_bool();
      e.dropped = o.contains("dropped") && o.at("dropped").as_bool();
      out.push_back(e);
    }
    return out;
  }

 private:
  std::string path_;
};

}  // namespace floorgate::testing
