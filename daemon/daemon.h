// vnicd's core: the TAP, its netlink control and watch, the control socket, signals, reload and
// the watchdog, around one event loop that drives the data path (daemon/datapath.h).
#pragma once

#include <ctime>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "blockxport/link.h"
#include "control/control_server.h"
#include "daemon/auth_events.h"
#include "daemon/config.h"
#include "daemon/datapath.h"
#include "daemon/realtime.h"
#include "vnic/link_control.h"
#include "vnic/link_monitor.h"
#include "vnic/neighbour_table.h"
#include "vnic/tap_device.h"

namespace vnicd {

class Daemon {
 public:
  // Opens the volumes, creates and configures the interface and the control socket. Throws with
  // one line on any failure, leaving nothing behind (the TAP and socket go with the object).
  explicit Daemon(Config config);
  ~Daemon();

  // Runs until SIGTERM or SIGINT, then stops cleanly. Returns the exit status.
  int run();

  nlohmann::json status() const;

 private:
  void handle_transport_events();
  void log_peer_state(const blockxport::TransportEvent& event);
  void log_reader_event(const blockxport::TransportEvent& event);
  std::string peer_name(uint32_t slot, const std::string& owner) const;
  void handle_link_events();
  void resolve_neighbours_afresh();
  void handle_signal();
  void reload();
  void shutdown();
  timespec epoll_timeout() const;
  void apply_log_level() const;

  Config config_;
  std::unique_ptr<blockxport::Link> link_;
  std::unique_ptr<vnic::TapDevice> tap_;
  std::unique_ptr<vnic::LinkControl> control_;
  std::unique_ptr<vnic::LinkMonitor> monitor_;
  std::unique_ptr<vnic_control::ControlServer> server_;
  // Refers to link_ and tap_, so it is declared (and destroyed) after them.
  std::unique_ptr<Datapath> datapath_;
  int epoll_fd_ = -1;
  int signal_fd_ = -1;
  bool running_ = true;
  uint64_t reloads_ = 0;
  bool slot_lost_ = false;  // another node writes our slot: exit non-zero, without a clean stop record
  AuthEventLog auth_log_;
  RealtimeState realtime_;
  uint64_t watchdog_usec_ = 0;
  blockxport::TimePoint next_watchdog_{};
  blockxport::TimePoint started_at_;
};

}  // namespace vnicd
