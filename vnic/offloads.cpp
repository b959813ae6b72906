#include "vnic/offloads.h"

#include <linux/if_tun.h>

#include <array>
#include <utility>

// Debian 12's uapi headers predate USO (kernel 6.2).
#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#endif
#ifndef TUN_F_USO6
#define TUN_F_USO6 0x40
#endif

namespace vnic {

static_assert(static_cast<unsigned>(Offload::csum) == TUN_F_CSUM);
static_assert(static_cast<unsigned>(Offload::tso4) == TUN_F_TSO4);
static_assert(static_cast<unsigned>(Offload::tso6) == TUN_F_TSO6);
static_assert(static_cast<unsigned>(Offload::tso_ecn) == TUN_F_TSO_ECN);
static_assert(static_cast<unsigned>(Offload::uso4) == TUN_F_USO4);
static_assert(static_cast<unsigned>(Offload::uso6) == TUN_F_USO6);

std::string Offloads::to_string() const {
  static constexpr std::array<std::pair<Offload, const char*>, 6> kNames{{
      {Offload::csum, "csum"},
      {Offload::tso4, "tso4"},
      {Offload::tso6, "tso6"},
      {Offload::tso_ecn, "tso_ecn"},
      {Offload::uso4, "uso4"},
      {Offload::uso6, "uso6"},
  }};
  std::string text;
  for (const auto& [offload, name] : kNames) {
    if (!has(offload)) {
      continue;
    }
    if (!text.empty()) {
      text += ' ';
    }
    text += name;
  }
  return text.empty() ? "none" : text;
}

}  // namespace vnic
