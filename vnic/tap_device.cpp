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

constexpr unsigned kTapFlags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;

// ifr_flags is a short; IFF_TUN_EXCL is its sign bit.
short as_ifr_flags(unsigned flags) { return static_cast<short>(static_cast<unsigned short>(flags)); }

void check_name_length(const std::string& name) {
  if (name.size() >= IFNAMSIZ) {
    throw Error(name, "creating TAP", fmt::format("name longer than {} characters", IFNAMSIZ - 1));
  }
}

// TUNSETIFF; returns 0 or the errno, and the name the kernel gave (it fills in "tap%d" names).
int set_iff(int fd, std::string& name, unsigned flags) {
  ifreq request{};
  std::memcpy(request.ifr_name, name.data(), name.size());
  request.ifr_flags = as_ifr_flags(flags);
  if (::ioctl(fd, TUNSETIFF, &request) < 0) {
    return errno;
  }
  name.assign(request.ifr_name, ::strnlen(request.ifr_name, IFNAMSIZ));
  return 0;
}

[[noreturn]] void throw_create_error(const std::string& name, int err) {
  if (err == EBUSY) {
    throw Error(name, "interface name already in use");
  }
  if (err == EPERM) {
    throw Error(name, "creating TAP", "permission denied (needs CAP_NET_ADMIN)");
  }
  throw_errno(name, "creating TAP", err);
}

// An interface of this name exists: it is taken over only if it is a persistent TAP that a
// TapDevice made (the alias says so), never somebody else's veth, dummy or TAP.
void check_ours(const std::string& name) {
  std::string kind, alias;
  try {
    LinkControl link(name);
    kind = link.kind();
    alias = link.alias();
  } catch (const Error&) {
    throw Error(name, "interface name already in use");  // gone, or not visible: say what we know
  }
  if (kind == "tun" && alias == kTapAlias) {
    return;
  }
  throw Error(name, fmt::format("interface name already in use by {} that vnicd did not make ({}): refusing to take "
                                "it over; remove or rename it",
                                kind.empty() ? std::string("an interface") : fmt::format("a {} interface", kind),
                                alias.empty() ? std::string("no vnicd alias") : fmt::format("alias \"{}\"", alias)));
}

// Attaches to an existing persistent TAP of ours; its addresses, routes and MTU stay as they are.
void reattach(int fd, std::string& name) {
  check_ours(name);
  if (const int err = set_iff(fd, name, kTapFlags); err != 0) {
    if (err == EBUSY) {
      throw Error(name, "re-attaching to the persistent TAP",
                  "another process has it open (is another vnicd running for it?)");
    }
    if (err == EINVAL) {
      throw Error(name, "re-attaching to the persistent TAP", "it is not a TAP (a TUN, or multi-queue): remove it");
    }
    throw_create_error(name, err);
  }
  ifreq attached{};
  if (::ioctl(fd, TUNGETIFF, &attached) < 0) {
    throw_errno(name, "reading the re-attached TAP's flags", errno);
  }
  const auto flags = static_cast<unsigned short>(attached.ifr_flags);
  if ((flags & (IFF_TAP | IFF_PERSIST)) != (IFF_TAP | IFF_PERSIST)) {
    throw Error(name, "re-attaching to the persistent TAP", fmt::format("unexpected flags {:#x}", flags));
  }
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

TapDevice::TapDevice(const TapOptions& options) : name_(options.name), persistent_(options.persistent) {
  check_name_length(name_);
  fd_ = open_tun_clone_device(name_);
  // IFF_TUN_EXCL: never silently attach to somebody else's interface.
  const int err = set_iff(fd_.get(), name_, kTapFlags | IFF_TUN_EXCL);
  if (err == EBUSY && persistent_) {
    reattach(fd_.get(), name_);
    reattached_ = true;
    keep_ = true;  // it was there before us: a failed start leaves it as it was
  } else if (err != 0) {
    throw_create_error(name_, err);
  }
  try {
    if (persistent_ && !reattached_) {
      // TUNSETPERSIST takes its value in the argument itself, not through a pointer.
      if (::ioctl(fd_.get(), TUNSETPERSIST, 1UL) < 0) {
        throw_errno(name_, "making the TAP persistent", errno);
      }
      LinkControl(name_).set_alias(kTapAlias);
    }
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
  } catch (...) {
    release();  // an interface made here goes with the failed start
    throw;
  }
}

TapDevice::~TapDevice() { release(); }

TapDevice::TapDevice(TapDevice&& other) noexcept
    : fd_(std::move(other.fd_)),
      name_(std::move(other.name_)),
      ifindex_(other.ifindex_),
      persistent_(other.persistent_),
      reattached_(other.reattached_),
      keep_(other.keep_),
      offloads_(other.offloads_),
      stats_(other.stats_) {}

TapDevice& TapDevice::operator=(TapDevice&& other) noexcept {
  if (this != &other) {
    release();
    fd_ = std::move(other.fd_);
    name_ = std::move(other.name_);
    ifindex_ = other.ifindex_;
    persistent_ = other.persistent_;
    reattached_ = other.reattached_;
    keep_ = other.keep_;
    offloads_ = other.offloads_;
    stats_ = other.stats_;
  }
  return *this;
}

void TapDevice::release() noexcept {
  if (fd_ && persistent_ && !keep_) {
    // Not persistent any more: the kernel removes the interface as the fd closes.
    ::ioctl(fd_.get(), TUNSETPERSIST, 0UL);
  }
  fd_.reset();
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
