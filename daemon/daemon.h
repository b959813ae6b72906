// vnicd's core: one event loop moving frames TAP -> writer and reader -> TAP, following the
// peer's liveness with the carrier, and serving the control socket.
#pragma once

#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "blockxport/link.h"
#include "daemon/auth_events.h"
#include "daemon/config.h"
#include "daemon/control_server.h"
#include "daemon/realtime.h"
#include "vnic/frame_batch.h"
#include "vnic/link_control.h"
#include "vnic/link_monitor.h"
#include "vnic/neighbour_table.h"
#include "vnic/tap_device.h"

namespace vnicd {

struct DaemonCounters {
  uint64_t rx_dropped_admin_down = 0;  // frames from the peer while the interface was down
  uint64_t tx_backpressure_waits = 0;  // TAP reads paused: every block buffer busy
  uint64_t carrier_changes = 0;
  uint64_t reloads = 0;
  blockxport::TimePoint carrier_since{};  // the last carrier change (or the start)
};

class Daemon : private blockxport::FrameSink {
 public:
  // Opens the volumes, creates and configures the interface and the control socket. Throws with
  // one line on any failure, leaving nothing behind (the TAP and socket go with the object).
  explicit Daemon(Config config);
  ~Daemon() override;

  // Runs until SIGTERM or SIGINT, then stops cleanly. Returns the exit status.
  int run();

  nlohmann::json status() const;

 private:
  void deliver(std::span<const blockxport::FrameSpan> frames, const blockxport::BlockHeader& block) override;
  void pump_tap_to_link(blockxport::TimePoint now);
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
  std::unique_ptr<ControlServer> server_;
  vnic::FrameBatch tx_batch_;
  std::vector<blockxport::FrameSpan> tx_views_;
  std::vector<vnic::Frame> rx_frames_;
  int epoll_fd_ = -1;
  int signal_fd_ = -1;
  bool running_ = true;
  bool tap_readable_ = false;
  bool carrier_ = false;
  bool admin_up_ = false;
  DaemonCounters counters_;
  bool slot_lost_ = false;
  AuthEventLog auth_log_;
  RealtimeState realtime_;
  uint64_t watchdog_usec_ = 0;
  blockxport::TimePoint next_watchdog_{};
  blockxport::TimePoint started_at_;
};

}  // namespace vnicd
