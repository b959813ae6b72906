#pragma once

#include "vnic/link_control.h"
#include "vnic/tap_device.h"

#include <optional>
#include <string>

namespace vnic::test {

// A TAP and its LinkControl, both created inside one namespace.
struct NamespacedTap {
  TapDevice tap;
  LinkControl link;
};

NamespacedTap open_tap_in(const std::string& netns, const TapOptions& options);

// Adds `cidr` (if any), sets admin up and carrier on, then waits until the
// kernel reports operstate up: only then does its qdisc pass traffic.
// Throws if that takes longer than a few seconds.
void bring_up(NamespacedTap& nic, const std::optional<std::string>& cidr);

}  // namespace vnic::test
