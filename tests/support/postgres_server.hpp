#pragma once
// Test support: a real PostgreSQL (Debian's postgresql package) in a temp dir on a free
// loopback port, started per test and always stopped. PostgreSQL refuses to run as root: as
// root the cluster belongs to, and runs as, the unprivileged user "nobody" (setpriv).

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include "test_process.hpp"

namespace floorgate::testing {

// The newest installed server's bin directory (/usr/lib/postgresql/<major>/bin), or "".
inline std::string postgres_bindir() {
  std::string best;
  std::error_code ec;
  for (const auto& d : std::filesystem::directory_iterator("/usr/lib/postgresql", ec)) {
    auto bin = d.path() / "bin";
    if (std::filesystem::exists(bin / "postgres") && bin.string() > best) best = bin.string();
  }
  return best;
}

class PostgresServer {
 public:
  PostgresServer() : port_(free_port()) {
    bindir_ = postgres_bindir();
    if (bindir_.empty()) throw std::runtime_error("PostgreSQL is not installed (apt-get install postgresql)");
    data_ = dir_ / "data";
    std::filesystem::create_directories(data_);
    if (::geteuid() == 0) {
      // nobody must reach its data dir through the 0700 temp dir.
      ::chmod(dir_.path().c_str(), 0711);
      if (::chown(data_.c_str(), 65534, 65534) != 0) throw std::runtime_error("chown data dir failed");
    }
    ChildProcess init(as_user({bindir_ + "/initdb", "-D", data_.string(), "-U", "floorgate",
                               "--auth=trust", "-E", "UTF8", "--no-instructions"}),
                      (dir_ / "initdb.log").string(), (dir_ / "initdb.log").string());
    if (init.wait(std::chrono::seconds(120)) != 0)
      throw std::runtime_error("initdb failed: " + read(dir_ / "initdb.log"));
    start();
  }
  ~PostgresServer() { stop(); }

  int port() const { return port_; }
  std::string conninfo() const {
    return "host=127.0.0.1 port=" + std::to_string(port_) + " user=floorgate dbname=postgres";
  }
  const std::filesystem::path& dir() const { return dir_.path(); }
  std::string log() const { return read(dir_ / "postgres.log"); }

  void start() {
    proc_ = std::make_unique<ChildProcess>(
        as_user({bindir_ + "/postgres", "-D", data_.string(), "-p", std::to_string(port_), "-k",
                 data_.string(), "-c", "listen_addresses=127.0.0.1"}),
        (dir_ / "postgres.log").string(), (dir_ / "postgres.log").string());
    // Accepting TCP is not yet accepting queries: ask pg_isready.
    if (!wait_until([this] {
          ChildProcess ready({bindir_ + "/pg_isready", "-h", "127.0.0.1", "-p",
                              std::to_string(port_), "-U", "floorgate", "-q"});
          return ready.wait() == 0;
        }, std::chrono::seconds(60))) {
      throw std::runtime_error("postgres did not start: " + log());
    }
  }
  // SIGINT: fast shutdown (what systemd's stop does).
  void stop() {
    if (!proc_) return;
    proc_->kill(SIGINT);
    proc_->wait(std::chrono::seconds(60));
    proc_.reset();
  }

  // Runs one SQL statement with psql; its unaligned output (fields split by '|').
  std::string query(const std::string& sql) const {
    const auto out = dir_ / "query.out";
    std::filesystem::remove(out);  // ChildProcess appends: each query's output on its own
    ChildProcess psql({bindir_ + "/psql", "-h", "127.0.0.1", "-p", std::to_string(port_), "-U",
                       "floorgate", "-d", "postgres", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql},
                      out.string(), (dir_ / "query.err").string());
    if (psql.wait(std::chrono::seconds(120)) != 0)
      throw std::runtime_error("psql failed: " + read(dir_ / "query.err"));
    return read(out);
  }

 private:
  static std::string read(const std::filesystem::path& p) {
    std::ifstream in(p);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  static std::vector<std::string> as_user(std::vector<std::string> argv) {
    if (::geteuid() != 0) return argv;
    std::vector<std::string> out{"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                                 "--"};
    out.insert(out.end(), argv.begin(), argv.end());
    return out;
  }

  int port_;
  TempDir dir_;
  std::string bindir_;
  std::filesystem::path data_;
  std::unique_ptr<ChildProcess> proc_;
};

}  // namespace floorgate::testing
