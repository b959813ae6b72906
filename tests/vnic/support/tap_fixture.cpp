#include "tests/vnic/support/tap_fixture.h"

#include "tests/vnic/support/netns.h"
#include "tests/vnic/support/wait.h"

#include <stdexcept>

#include <fmt/format.h>

namespace vnic::test {

NamespacedTap open_tap_in(const std::string& netns, const TapOptions& options) {
    return in_netns(netns, [&] {
        TapDevice tap(options);
        LinkControl link(tap.name());
        return NamespacedTap{std::move(tap), std::move(link)};
    });
}

void bring_up(NamespacedTap& nic, const std::optional<std::string>& cidr) {
    if (cidr) {
        nic.link.add_address(*cidr);
    }
    nic.link.set_admin_up(true);
    nic.tap.set_carrier(true);
    if (!wait_until([&] { return nic.link.state().operstate == OperState::up; },
                    std::chrono::seconds(5))) {
        throw std::runtime_error(fmt::format("{}: operstate never became up (now {})",
                                             nic.tap.name(),
                                             to_string(nic.link.state().operstate)));
    }
}

}  // namespace vnic::test
