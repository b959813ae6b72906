#include "vnic/tap_device.h"

#include "vnic/error.h"
#include "vnic/link_control.h"

#include <fcntl.h>
#include <net/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <array>
#include <bit>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace vnic {

namespace {

// Offload enum values are the TUN_F_* bits (checked in offloads.cpp), which
// also covers uapi headers too old to define the USO ones.
constexpr Offloads kTsoOffloads = Offload::csum | Offload::tso4 | Offload::tso6 | Offload::tso_ecn;
constexpr Offloads kTsoAndUsoOffloads = kTsoOffloads | Offload::uso4 | Offload::uso6;

UniqueFd open_tun_clone_device(const std::string& name) {
  const int fd = ::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    throw_errno(name, "opening /dev/net/tun", errno);
  }
  return UniqueFd(fd);
}

// Returns the name the kernel gave the interface (it fills in "tap%d" names).
std::string create_tap(int fd, const std::string& requested_name) {
  if (requested_name.size() >= IFNAMSIZ) {
    throw Error(requested_name, "creating TAP", fmt::format("name longer than {} characters", IFNAMSIZ - 1));
  }
  ifreq request{};
  std::memcpy(request.ifr_name, requested_name.data(), requested_name.size());
  // IFF_TUN_EXCL: never silently attach to somebody else's interface.
  // ifr_flags is a short; IFF_TUN_EXCL is its sign bit.
  request.ifr_flags =
      static_cast<short>(static_cast<unsigned short>(IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_TUN_EXCL));
  if (::ioctl(fd, TUNSETIFF, &request) < 0) {
    const int err = errno;
    if (err == EBUSY) {
      throw Error(requested_name, "interface name already in use");
    }
    if (err == EPERM) {
      throw Error(requested_name, "creating TAP", "permission denied (needs CAP_NET_ADMIN)");
    }
    throw_errno(requested_name, "creating TAP", err);
  }
  return std::string(request.ifr_name, ::strnlen(request.ifr_name, IFNAMSIZ));
}

void set_int_option(int fd, const std::string& name, unsigned long request, int value, const char* action) {
  if (::ioctl(fd, request, &value) < 0) {
    throw_errno(name, action, errno);
  }
}

void set_vnet_header_format(int fd, const std::string& name) {
  set_int_option(fd, name, TUNSETVNETHDRSZ, static_cast<int>(kVnetHeaderBytes), "setting virtio-net header size");
  // Little-endian headers everywhere; on a little-endian host that is
  // already the legacy default, so an old kernel refusing is harmless there.
  int little_endian = 1;
  if (::ioctl(fd, TUNSETVNETLE, &little_endian) < 0 && std::endian::native != std::endian::little) {
    throw_errno(name, "setting little-endian virtio-net headers", errno);
  }
}

// Tries the richest set first. The kernel answers EINVAL only for bits it does
// not know (USO before 6.2), so each step drops the newest; any other error
// is a real failure.
Offloads negotiate_offloads(int fd, const std::string& name, bool want_offloads) {
  const std::array<unsigned, 3> preferred{kTsoAndUsoOffloads.tun_flags(), kTsoOffloads.tun_flags(), 0};
  for (const unsigned flags : preferred) {
    if (!want_offloads && flags != 0) {
      continue;
    }
    if (::ioctl(fd, TUNSETOFFLOAD, static_cast<unsigned long>(flags)) == 0) {
      return Offloads{flags};
    }
    if (errno != EINVAL) {
      throw_errno(name, "negotiating offloads", errno);
    }
  }
  throw Error(name, "negotiating offloads", "kernel refuses even no offloads");
}

int interface_index(const std::string& name) {
  const unsigned index = ::if_nametoindex(name.c_str());
  if (index == 0) {
    throw_errno(name, "looking up interface index", errno);
  }
  return static_cast<int>(index);
}

// EINVAL: malformed frame or virtio-net header. EIO/ENOMEM/ENOBUFS/EMSGSIZE:
// the kernel could not take this frame, as a NIC drops under pressure.
bool is_rejected_frame(int err) {
  return err == EINVAL || err == EIO || err == ENOMEM || err == ENOBUFS || err == EMSGSIZE;
}

}  // namespace

TapDevice::TapDevice(const TapOptions& options) {
  fd_ = open_tun_clone_device(options.name);
  name_ = create_tap(fd_.get(), options.name);
  // From here on a throw closes fd_, and the kernel removes the interface.
  set_vnet_header_format(fd_.get(), name_);
  offloads_ = negotiate_offloads(fd_.get(), name_, options.offload);
  // The kernel creates a TAP with carrier on; the daemon raises it only
  // once the transport to the peer works.
  set_carrier(false);
  if (options.tx_queue_len) {
    // Over rtnetlink, not the SIOCSIFTXQLEN ioctl: that needs an AF_INET socket, which the
    // hardened unit does not allow.
    LinkControl(name_).set_tx_queue_len(*options.tx_queue_len);
  }
  ifindex_ = interface_index(name_);
}

void TapDevice::set_carrier(bool up) {
  set_int_option(fd_.get(), name_, TUNSETCARRIER, up ? 1 : 0, up ? "setting carrier on" : "setting carrier off");
}

std::size_t TapDevice::read_batch(FrameBatch& batch) {
  // The kernel silently cuts a frame that does not fit and returns only the
  // length it copied. One spare byte after the slot tells a cut frame from
  // one that fits exactly.
  std::byte overflow_probe{};
  std::size_t appended = 0;
  while (!batch.full()) {
    Frame& frame = batch.free_slots().front();
    const std::span<std::byte> slot = frame.slot();
    const std::array<iovec, 2> buffers{{{slot.data(), slot.size()}, {&overflow_probe, 1}}};
    const ssize_t n = ::readv(fd_.get(), buffers.data(), static_cast<int>(buffers.size()));
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        break;
      }
      throw_errno(name_, "reading frame", errno);
    }
    const auto length = static_cast<std::size_t>(n);
    if (length > slot.size() || length < kVnetHeaderBytes) {
      ++stats_.rx_truncated;
      continue;
    }
    frame.set_length(length);
    batch.commit(1);
    ++appended;
    ++stats_.rx_frames;
    stats_.rx_bytes += length - kVnetHeaderBytes;
  }
  return appended;
}

WriteResult TapDevice::write_batch(std::span<const Frame> frames) {
  WriteResult result;
  for (const Frame& frame : frames) {
    const std::span<const std::byte> bytes = frame.bytes();
    ssize_t n;
    do {
      n = ::write(fd_.get(), bytes.data(), bytes.size());
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        break;
      }
      if (!is_rejected_frame(errno)) {
        throw_errno(name_, "writing frame", errno);
      }
      ++result.dropped;
      ++stats_.tx_dropped;
      continue;
    }
    ++result.written;
    ++stats_.tx_frames;
    stats_.tx_bytes += bytes.size() > kVnetHeaderBytes ? bytes.size() - kVnetHeaderBytes : 0;
  }
  return result;
}

}  // namespace vnic
