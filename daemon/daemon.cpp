#include "daemon/daemon.h"

#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include "blockxport/key_file.h"
#include "blockxport/volume_check.h"
#include "blockxport/volume_format.h"
#include "control/control_protocol.h"
#include "daemon/privileges.h"
#include "daemon/realtime.h"
#include "daemon/status_json.h"
#include "vnic/error.h"
#include "vnic/mac_address.h"

namespace vnicd {
namespace {

using blockxport::Clock;
using blockxport::Nanos;
using blockxport::TimePoint;
using std::chrono::microseconds;
using std::chrono::milliseconds;

void same_file_check(const Config& c) {
  if (c.shared()) return;
  struct stat a {
  }, b{};
  if (::stat(c.send_path.c_str(), &a) == 0 && ::stat(c.recv_path.c_str(), &b) == 0 && a.st_dev == b.st_dev &&
      a.st_ino == b.st_ino && a.st_rdev == b.st_rdev && c.send_slot == c.peer_slot)
    throw std::runtime_error(
        fmt::format("send {} and recv {} are the same volume and slot: the receive volume must "
                    "be the peer's send volume (its mirror, or another slot of a shared LUN)",
                    c.send_path, c.recv_path));
}

// --format-if-empty: a send volume whose first MiB is all zeros was never used; give it a format.
void format_if_empty(const Config& c) {
  blockxport::Volume volume = blockxport::Volume::open(c.send_path, {blockxport::VolumeAccess::read_only, false});
  auto probe = blockxport::probe_formatted_superblock(volume);
  if (probe.superblock || !probe.unformatted) return;
  blockxport::FormatOptions f;
  f.block_size = c.block_size.value_or(64 * 1024);
  f.slots = std::max(c.send_slot, c.peer_slot) + 1;
  f.label = c.ifname;
  auto sb = blockxport::format_volume(c.send_path, f);  // refuses if anything in the first MiB is not zero
  spdlog::info("formatted empty send volume {}: uuid {}, {} blocks of {} bytes", c.send_path,
               blockxport::format_uuid(sb.uuid), sb.ring_blocks, sb.block_size);
}

blockxport::LinkOptions link_options(const Config& c) {
  blockxport::LinkOptions o;
  if (c.shared()) {
    o.shared = true;
    o.send_path = c.volume;
    o.send_slot = *c.slot;
    o.owner = {c.effective_node_name(), c.ifname};
    o.lap_after = milliseconds(c.lap_after_ms);
  } else {
    o.send_path = c.send_path;
    o.recv_path = c.recv_path;
    o.send_slot = c.send_slot;
    o.peer_slot = c.peer_slot;
  }
  o.engine = blockxport::parse_engine_kind(c.io_engine);
  o.open_dsync = c.sync == "odsync";
  o.write_dsync = c.sync == "rwf-dsync";
  o.expected_block_size = c.block_size;
  o.writer.queue_depth = c.queue_depth;
  o.writer.flush_deadline = microseconds(c.flush_deadline_us);
  o.reader.spin_window = microseconds(c.poll_spin_us);
  o.reader.torn_timeout = milliseconds(c.torn_timeout_ms);
  o.reader.max_interval = microseconds(c.poll_max_interval_us);
  o.reader.park_after = milliseconds(c.effective_poll_park_ms());
  o.reader.max_age = milliseconds(c.max_frame_age_ms);
  o.heartbeat_interval = milliseconds(c.heartbeat_interval_ms);
  o.dead_after = milliseconds(c.dead_after_ms);
  return o;
}

// Read before anything is created or written, so a bad key file changes nothing. The key must
// belong to the user vnicd runs as.
std::shared_ptr<const blockxport::Keyring> load_keys(const Config& c) {
  // With `user`, key files belong to that user: read and checked as it, before the drop and on
  // SIGHUP after it (when the process is that user) alike.
  auto run_as = resolve_run_as(c);
  FilesystemIdentity as_user(run_as);
  uid_t owner = run_as && ::geteuid() == 0 ? run_as->uid : ::geteuid();
  return blockxport::load_keyring({c.key_file, c.accept_key_file, c.encrypt}, owner);
}

void epoll_add(int epoll_fd, int fd, uint32_t events) {
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = fd;
  if (::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0)
    throw std::runtime_error(fmt::format("epoll_ctl add fd {}: {}", fd, std::strerror(errno)));
}

}  // namespace

Daemon::Daemon(Config config) : config_(std::move(config)), started_at_(Clock::now()) {
  apply_log_level();
  std::shared_ptr<const blockxport::Keyring> keys = load_keys(config_);
  same_file_check(config_);

  // The interface first: a name already taken fails before anything is written to the volumes.
  vnic::TapOptions tap_options;
  tap_options.name = config_.ifname;
  tap_options.offload = config_.offload;
  tap_options.tx_queue_len = config_.tx_queue_len;
  // Persistent: a killed vnicd leaves the interface, its addresses and routes, without carrier,
  // and its successor re-attaches; the cluster stack never sees the NIC vanish.
  tap_options.persistent = true;
  tap_ = std::make_unique<vnic::TapDevice>(tap_options);
  spdlog::info("{}: {}, offloads {}", config_.ifname,
               tap_->reattached() ? "re-attached to the persistent TAP left by the previous vnicd (addresses, "
                                    "routes and MTU kept)"
                                  : "persistent TAP created",
               tap_->offloads().to_string());
  if (config_.format_if_empty) format_if_empty(config_);
  blockxport::LinkOptions options = link_options(config_);
  options.keys = keys;
  link_ = blockxport::Link::open(options);
  spdlog::info("{}: authentication {}", config_.ifname, describe_keys(link_->keys()));
  if (config_.shared())
    spdlog::info("{}: shared volume {} ({}), slot {} of {} as node \"{}\" (the slot was {}), engine {}, epoch {:016x}, "
                 "first sequence {}",
                 config_.ifname, config_.volume, link_->send_volume().backing_description(), *config_.slot,
                 link_->send_superblock().slot_count, config_.effective_node_name(),
                 blockxport::slot_previous_name(link_->slot_previous()), link_->engine_name(), link_->epoch(),
                 link_->stats().start_sequence);
  else
    spdlog::info("{}: send {} ({}), recv {}, engine {}, epoch {:016x}, first sequence {}", config_.ifname,
                 config_.send_path, link_->send_volume().backing_description(), config_.recv_path,
                 link_->engine_name(), link_->epoch(), link_->stats().start_sequence);
  control_ = std::make_unique<vnic::LinkControl>(config_.ifname);
  // On a re-attached interface everything below is already in place, and stays untouched.
  if (config_.mtu && control_->mtu() != *config_.mtu) control_->set_mtu(*config_.mtu);
  vnic::MacAddress mac;
  if (config_.mac) {
    mac = vnic::MacAddress::parse(*config_.mac);
  } else {
    // Stable across restarts: the same volume and slot give the same address (a shared LUN's
    // slot is link_->own_slot(), so every node of the segment has its own).
    std::string seed = blockxport::format_uuid(link_->send_superblock().uuid) + "/" + std::to_string(link_->own_slot());
    mac = vnic::derive_local_mac(seed);
  }
  if (control_->mac() != mac) control_->set_mac(mac);
  for (const auto& address : config_.addresses)
    if (!control_->ensure_address(address)) spdlog::info("{}: address {} already there", config_.ifname, address);
  monitor_ = std::make_unique<vnic::LinkMonitor>(tap_->ifindex());
  datapath_ = std::make_unique<Datapath>(*tap_, *link_);
  datapath_->set_admin_up(control_->state().admin_up);

  auto socket_group = resolve_socket_group(config_);  // 0660 with that group, else 0600
  server_ = std::make_unique<vnic_control::ControlServer>(
      config_.effective_control_socket(),
      [this](const nlohmann::json& request) {
        return vnic_control::dispatch_command(request, [this] { return status(); });
      },
      socket_group ? 0660 : 0600, socket_group);

  sigset_t signals;
  sigemptyset(&signals);
  for (int s : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&signals, s);
  ::sigprocmask(SIG_BLOCK, &signals, nullptr);
  signal_fd_ = ::signalfd(-1, &signals, SFD_CLOEXEC | SFD_NONBLOCK);
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (signal_fd_ < 0 || epoll_fd_ < 0)
    throw std::runtime_error(fmt::format("signalfd/epoll: {}", std::strerror(errno)));
  epoll_add(epoll_fd_, tap_->fd(), EPOLLIN);
  epoll_add(epoll_fd_, signal_fd_, EPOLLIN);
  epoll_add(epoll_fd_, monitor_->fd(), EPOLLIN);
  epoll_add(epoll_fd_, server_->listen_fd(), EPOLLIN);
  if (link_->completion_fd() >= 0) epoll_add(epoll_fd_, link_->completion_fd(), EPOLLIN);

  if (sd_watchdog_enabled(0, &watchdog_usec_) <= 0) watchdog_usec_ = 0;
  // Everything is allocated: lock it, and the policy, while the privileges for both are still here.
  realtime_ = apply_realtime(config_);
  // Started: from here on the interface outlives the process (unless keep_interface is off).
  tap_->keep_on_close(config_.keep_interface);
}

Daemon::~Daemon() {
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
  if (signal_fd_ >= 0) ::close(signal_fd_);
}

void Daemon::apply_log_level() const { spdlog::set_level(spdlog::level::from_str(config_.log_level)); }

// What the transport pushed since the last turn: one log line each, and a lost slot stops us.
void Daemon::handle_transport_events() {
  auth_log_.check(*link_, config_.ifname, Clock::now());
  for (const auto& e : link_->take_events()) {
    switch (e.kind) {
      case blockxport::TransportEvent::Kind::peer_state:
        log_peer_state(e);
        break;
      case blockxport::TransportEvent::Kind::reader:
        log_reader_event(e);
        break;
      case blockxport::TransportEvent::Kind::slot_lost:
        spdlog::critical("{}: slot {} is written by another node ({}): stopping without writing again",
                         config_.ifname, e.slot, e.owner);
        slot_lost_ = true;
        running_ = false;
        break;
    }
  }
}

std::string Daemon::peer_name(uint32_t slot, const std::string& owner) const {
  if (!config_.shared()) return "peer";
  return owner.empty() ? fmt::format("peer slot {}", slot) : fmt::format("peer slot {} (\"{}\")", slot, owner);
}

void Daemon::log_peer_state(const blockxport::TransportEvent& e) {
  bool waiting = e.state == blockxport::PeerState::no_volume;
  spdlog::info("{}: {} {}{}", config_.ifname, peer_name(e.slot, e.owner), blockxport::peer_state_name(e.state),
               waiting ? fmt::format(" (waiting for {} to be formatted)", config_.recv_path) : "");
}

// One line per event an admin would want to see: resyncs, writer restarts, damaged or late blocks.
void Daemon::log_reader_event(const blockxport::TransportEvent& e) {
  using Kind = blockxport::ReaderEvent::Kind;
  const auto& r = e.reader;
  std::string who = config_.shared() ? fmt::format("the writer of slot {}", e.slot) : "the peer's writer";
  switch (r.kind) {
    case Kind::epoch_change:
      spdlog::info("{}: {} restarted: following epoch {:016x} from sequence {} ({} sequences it skipped)",
                   config_.ifname, who, r.epoch, r.sequence, r.count);
      break;
    case Kind::lapped:
      spdlog::warn("{}: lapped by {}: resynced to sequence {}, {} blocks lost", config_.ifname, who, r.sequence,
                   r.count);
      break;
    case Kind::damaged:
      spdlog::warn("{}: skipped {} damaged block(s) of {}, up to sequence {}", config_.ifname, r.count, who,
                   r.sequence);
      break;
    case Kind::missing:
      spdlog::warn("{}: skipped {} block(s) of {} that never became readable, up to sequence {}", config_.ifname,
                   r.count, who, r.sequence);
      break;
    case Kind::too_old:
      spdlog::warn("{}: dropped a block of {} older than {} ms: {} frames", config_.ifname, who,
                   config_.max_frame_age_ms, r.count);
      break;
  }
}

void Daemon::handle_link_events() {
  for (const auto& event : monitor_->poll()) {
    datapath_->set_admin_up(event.state.admin_up);
    spdlog::info("{}: link event {} (mtu {})", config_.ifname, vnic::to_string(event.kind), event.state.mtu);
    if (event.kind == vnic::LinkEventKind::lower_up) resolve_neighbours_afresh();
    if (event.kind == vnic::LinkEventKind::removed) {
      spdlog::error("{}: the interface was removed; stopping", config_.ifname);
      running_ = false;
    }
  }
}

// The kernel reports lower-up once its queue passes traffic again. Whatever the stack sent while
// carrier was off (replies to the peer's first frames after a restart, a cluster stack's own
// probes) was dropped there, solicitations included, and left INCOMPLETE neighbour entries that
// ask again only after retrans_time_ms (1 s by default): past knet's link timeout. They ask now.
void Daemon::resolve_neighbours_afresh() {
  try {
    if (size_t restarted = vnic::restart_unresolved_neighbours(tap_->ifindex(), config_.ifname); restarted > 0)
      spdlog::info("{}: link up: {} neighbour entries left unresolved while it was down ask again now", config_.ifname,
                   restarted);
  } catch (const vnic::Error& e) {
    spdlog::warn("{}: link up: unresolved neighbour entries ask again only when their timer fires: {}", config_.ifname,
                 e.what());
  }
}

void Daemon::reload() {
  ++reloads_;
  if (!config_.config_path) {
    spdlog::info("{}: SIGHUP: no config file to reload", config_.ifname);
    return;
  }
  Config fresh = config_;
  std::shared_ptr<const blockxport::Keyring> keys;
  try {
    load_config_file(*config_.config_path, fresh);
    // Keys come from the file alone (a key taken out of it is dropped: a finished rollover),
    // unless they were given as flags, which win.
    Config file_only;
    load_config_file(*config_.config_path, file_only);
    const Config& key_source = config_.key_flags_given ? config_ : file_only;
    fresh.key_file = key_source.key_file;
    fresh.accept_key_file = key_source.accept_key_file;
    fresh.encrypt = key_source.encrypt;
    validate(fresh);
    keys = load_keys(fresh);  // the files are read again: a key replaced in place counts too
  } catch (const std::exception& e) {
    spdlog::error("{}: SIGHUP: keeping the running configuration: {}", config_.ifname, e.what());
    return;
  }
  // Only what can change without reopening the volumes or the interface.
  config_.log_level = fresh.log_level;
  config_.heartbeat_interval_ms = fresh.heartbeat_interval_ms;
  config_.dead_after_ms = fresh.dead_after_ms;
  config_.max_frame_age_ms = fresh.max_frame_age_ms;
  config_.flush_deadline_us = fresh.flush_deadline_us;
  config_.poll_spin_us = fresh.poll_spin_us;
  config_.torn_timeout_ms = fresh.torn_timeout_ms;
  config_.poll_max_interval_us = fresh.poll_max_interval_us;
  config_.poll_park_ms = fresh.poll_park_ms;
  config_.lap_after_ms = fresh.lap_after_ms;
  config_.key_file = fresh.key_file;
  config_.accept_key_file = fresh.accept_key_file;
  config_.encrypt = fresh.encrypt;
  config_.keep_interface = fresh.keep_interface;
  tap_->keep_on_close(config_.keep_interface);
  // The privileges to change these went with the drop: they take effect at the next start.
  if (fresh.realtime != config_.realtime || fresh.priority != config_.priority ||
      fresh.lock_memory != config_.lock_memory)
    spdlog::warn("{}: SIGHUP: realtime, priority and lock_memory take effect at the next start; keeping {}",
                 config_.ifname, realtime_status(config_, realtime_).dump());
  if (fresh.tx_queue_len && fresh.tx_queue_len != config_.tx_queue_len) {
    try {
      control_->set_tx_queue_len(*fresh.tx_queue_len);
      config_.tx_queue_len = fresh.tx_queue_len;
    } catch (const std::exception& e) {
      spdlog::error("{}: SIGHUP: keeping txqueuelen: {}", config_.ifname, e.what());
    }
  }
  apply_log_level();
  link_->update_timers(link_options(config_));
  link_->set_keys(keys);
  spdlog::info("{}: SIGHUP: authentication {}", config_.ifname, describe_keys(link_->keys()));
  spdlog::info("{}: SIGHUP: reloaded log level {}, heartbeat {} ms, dead after {} ms", config_.ifname,
               config_.log_level, config_.heartbeat_interval_ms, config_.dead_after_ms);
}

void Daemon::handle_signal() {
  signalfd_siginfo info{};
  while (::read(signal_fd_, &info, sizeof(info)) == sizeof(info)) {
    if (info.ssi_signo == SIGHUP) {
      reload();
    } else {
      spdlog::info("{}: signal {}: stopping", config_.ifname, strsignal(static_cast<int>(info.ssi_signo)));
      running_ = false;
    }
  }
}

timespec Daemon::epoll_timeout() const {
  Nanos wait = milliseconds(100);
  if (auto wake = link_->next_wakeup())
    wait = std::clamp(std::chrono::duration_cast<Nanos>(*wake - Clock::now()), Nanos{0}, wait);
  // Frames held back by a busy writer wait for a completion; without a completion fd, poll.
  if (datapath_->holding_frames() && link_->completion_fd() < 0) wait = Nanos{0};
  return timespec{static_cast<time_t>(wait.count() / 1'000'000'000), static_cast<long>(wait.count() % 1'000'000'000)};
}

void Daemon::shutdown() {
  sd_notify(0, "STOPPING=1");
  datapath_->stop(milliseconds(500));
  spdlog::info("{}: stopped cleanly; the peer sees carrier off; {}", config_.ifname,
               config_.keep_interface ? "the interface stays, without carrier (keep_interface)"
                                      : "the interface is removed (keep_interface off)");
}

int Daemon::run() {
  sd_notifyf(0, "READY=1\nSTATUS=%s: waiting for the peer", config_.ifname.c_str());
  epoll_event events[16];
  while (running_) {
    TimePoint now = Clock::now();
    try {
      datapath_->turn(now);
    } catch (const vnic::Error& e) {
      // The interface was deleted under us (ip link del): nothing left to serve.
      spdlog::error("{}", e.what());
      break;
    }
    handle_transport_events();
    datapath_->follow_peer();
    if (watchdog_usec_ && now >= next_watchdog_) {
      sd_notify(0, "WATCHDOG=1");
      next_watchdog_ = now + microseconds(watchdog_usec_ / 2);
    }
    // epoll_pwait2: the reader's back-off steps are tens of microseconds, below epoll_wait's ms.
    timespec timeout = epoll_timeout();
    int n = ::epoll_pwait2(epoll_fd_, events, 16, &timeout, nullptr);
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd == tap_->fd()) {
        datapath_->on_device_readable();
      } else if (fd == signal_fd_) {
        handle_signal();
      } else if (fd == monitor_->fd()) {
        handle_link_events();
      } else if (fd == server_->listen_fd()) {
        server_->on_listen_ready();
        for (int client : server_->client_fds()) {
          epoll_event ev{};
          ev.events = EPOLLIN;
          ev.data.fd = client;
          ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, client, &ev);  // EEXIST for clients already added
        }
      } else if (fd == link_->completion_fd()) {
        link_->drain_completion_fd();
      } else {
        server_->on_client_ready(fd);  // a closed client leaves epoll as its fd closes
      }
    }
  }
  shutdown();
  return slot_lost_ ? 1 : 0;
}

nlohmann::json Daemon::status() const {
  std::optional<vnic::LinkState> kernel_link;
  try {
    kernel_link = control_->state();
  } catch (const vnic::Error& e) {
    spdlog::debug("{}: status without the kernel's counters: {}", config_.ifname, e.what());
  }
  StatusInputs in{config_,     *link_,        *tap_,       datapath_->counters(), reloads_, datapath_->carrier(),
                  datapath_->admin_up(), started_at_, kernel_link, realtime_};
  if (link_->shared()) in.learning = &datapath_->learning();
  return build_status(in);
}

}  // namespace vnicd
