#pragma once
// Test support: a RabbitMQ cluster of Debian's rabbitmq-server (3.10, MQTT 3.1.1 plugin) on
// free loopback ports in a temp dir. Each node has its own node name, data and log dirs; the
// nodes share an Erlang cookie and a private epmd port, so neither the package's own service
// nor another test's cluster is touched. Nodes are joined with rabbitmqctl join_cluster; MQTT
// subscription queues are mirrored to every node (policy "fleet-mqtt-ha", docs/scale.md) so a
// consumer's queue survives the loss of the node it lived on.
//
// Three nodes, not two: the 3.10 MQTT plugin tracks client ids in a Raft cluster and accepts
// no new MQTT connection without a majority of the nodes (RabbitMQ's MQTT guide: "a cluster of
// two nodes is not supported"), so two nodes survive no node loss.

#include <signal.h>
#include <sys/stat.h>

#include <fstream>
#include <string>
#include <vector>

#include "test_process.hpp"

namespace floorgate::testing {

class RabbitCluster {
 public:
  static constexpr const char* kBin = "/usr/lib/rabbitmq/bin/";
  static bool available() { return ::access("/usr/lib/rabbitmq/bin/rabbitmq-server", X_OK) == 0; }

  explicit RabbitCluster(int nodes = 3) : epmd_port_(free_port()) {
    // Our own epmd in the foreground (a node would otherwise start a daemon that outlives us).
    epmd_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{"epmd", "-port", std::to_string(epmd_port_), "-address", "127.0.0.1"},
        (dir_ / "epmd.log").string(), (dir_ / "epmd.log").string());
    if (!wait_until([&] { return port_open(epmd_port_); })) throw std::runtime_error("epmd did not start");
    std::ofstream(dir_ / ".erlang.cookie") << "floorgate-fleet-" << epmd_port_;
    ::chmod((dir_ / ".erlang.cookie").c_str(), 0400);
    for (int i = 0; i < nodes; ++i) {
      Node n;
      n.name = "fleet" + std::to_string(i) + "@localhost";
      n.amqp_port = free_port();
      n.dist_port = free_port();
      n.mqtt_port = free_port();
      n.dir = dir_ / ("node" + std::to_string(i));
      std::filesystem::create_directories(n.dir);
      std::ofstream(n.dir / "rabbitmq.conf")
          << "listeners.tcp.default = 127.0.0.1:" << n.amqp_port << "\n"
          << "mqtt.listeners.tcp.default = 127.0.0.1:" << n.mqtt_port << "\n"
          << "mqtt.allow_anonymous = true\n"
          << "loopback_users = none\n"
          << "log.console = false\nlog.file.level = info\n";
      std::ofstream(n.dir / "advanced.config")
          << "[{kernel, [{inet_dist_use_interface, {127,0,0,1}}]}].\n";
      std::ofstream(n.dir / "enabled_plugins") << "[rabbitmq_mqtt].\n";
      nodes_.push_back(std::move(n));
    }
    for (std::size_t i = 0; i < nodes_.size(); ++i) launch(i);
    for (std::size_t i = 0; i < nodes_.size(); ++i) await(i);
    for (std::size_t i = 1; i < nodes_.size(); ++i) {
      must(ctl(i, {"stop_app"}), "stop_app");
      must(ctl(i, {"join_cluster", nodes_[0].name}), "join_cluster");
      must(ctl(i, {"start_app"}), "start_app");
      await(i);
    }
    must(ctl(0, {"set_policy", "--apply-to", "queues", "fleet-mqtt-ha", "^mqtt-subscription-",
                 R"({"ha-mode":"all","ha-sync-mode":"automatic"})"}),
         "set_policy");
  }
  ~RabbitCluster() {
    for (auto& n : nodes_) kill_group(n);
    epmd_->kill(SIGKILL);
    epmd_->wait();
  }
  RabbitCluster(const RabbitCluster&) = delete;
  RabbitCluster& operator=(const RabbitCluster&) = delete;

  std::size_t size() const { return nodes_.size(); }
  int mqtt_port(std::size_t i) const { return nodes_[i].mqtt_port; }
  const std::filesystem::path& dir() const { return dir_.path(); }

  // An abrupt node crash: SIGKILL to the node's whole process group (beam and its helpers).
  void kill_node(std::size_t i) { kill_group(nodes_[i]); }
  // Starts a killed node again; it rejoins the cluster from its own data dir.
  void restart_node(std::size_t i) {
    launch(i);
    await(i);
  }

  // rabbitmqctl against node i; returns {exit status, output}.
  std::pair<int, std::string> ctl(std::size_t i, std::vector<std::string> args) {
    auto argv = env(i);
    argv.push_back(std::string(kBin) + "rabbitmqctl");
    argv.insert(argv.end(), {"-n", nodes_[i].name});
    argv.insert(argv.end(), args.begin(), args.end());
    const auto out = dir_ / ("ctl-" + std::to_string(++ctl_runs_) + ".out");
    ChildProcess p(argv, out.string(), out.string());
    const int st = p.wait(std::chrono::seconds(120));
    std::ifstream in(out);
    return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, std::string(std::istreambuf_iterator<char>(in), {})};
  }

 private:
  struct Node {
    std::string name;
    int amqp_port = 0, dist_port = 0, mqtt_port = 0;
    std::filesystem::path dir;
    std::unique_ptr<ChildProcess> proc;
  };

  std::vector<std::string> env(std::size_t i) const {
    const auto& n = nodes_[i];
    return {"env",
            "HOME=" + dir_.path().string(),
            "ERL_EPMD_PORT=" + std::to_string(epmd_port_),
            "ERL_EPMD_ADDRESS=127.0.0.1",
            "RABBITMQ_NODENAME=" + n.name,
            "RABBITMQ_NODE_PORT=" + std::to_string(n.amqp_port),
            "RABBITMQ_DIST_PORT=" + std::to_string(n.dist_port),
            "RABBITMQ_CONFIG_FILE=" + (n.dir / "rabbitmq").string(),
            "RABBITMQ_ADVANCED_CONFIG_FILE=" + (n.dir / "advanced.config").string(),
            "RABBITMQ_ENABLED_PLUGINS_FILE=" + (n.dir / "enabled_plugins").string(),
            "RABBITMQ_MNESIA_BASE=" + (n.dir / "mnesia").string(),
            "RABBITMQ_LOG_BASE=" + (n.dir / "log").string(),
            "RABBITMQ_PID_FILE=" + (n.dir / "pid").string(),
            "RABBITMQ_PLUGINS_EXPAND_DIR=" + (n.dir / "plugins-expand").string()};
  }
  void launch(std::size_t i) {
    auto argv = env(i);
    argv.push_back(std::string(kBin) + "rabbitmq-server");
    nodes_[i].proc = std::make_unique<ChildProcess>(argv, (nodes_[i].dir / "server.log").string(),
                                                    (nodes_[i].dir / "server.log").string());
  }
  void await(std::size_t i) {
    // await_startup fails at once while the node has not registered with epmd yet (its
    // prelaunch phase): ask again until it answers that the node runs.
    std::pair<int, std::string> r;
    const bool up = wait_until([&] { return (r = ctl(i, {"await_startup", "--timeout", "60"})).first == 0; },
                               std::chrono::seconds(180), std::chrono::seconds(1));
    if (!up || !wait_until([&] { return port_open(nodes_[i].mqtt_port); }, std::chrono::seconds(60))) {
      throw std::runtime_error("rabbitmq node " + nodes_[i].name + " did not start: " + r.second);
    }
  }
  void must(const std::pair<int, std::string>& r, const std::string& what) {
    if (r.first != 0) throw std::runtime_error("rabbitmqctl " + what + " failed: " + r.second);
  }
  static void kill_group(Node& n) {
    if (!n.proc) return;
    if (n.proc->running()) ::kill(-n.proc->pid(), SIGKILL);
    n.proc->wait();
    n.proc.reset();
  }

  TempDir dir_;
  int epmd_port_;
  std::unique_ptr<ChildProcess> epmd_;
  int ctl_runs_ = 0;
  std::vector<Node> nodes_;
};

}  // namespace floorgate::testing
