// Where vnic-bench finds the programs it drives. Like vnic-lab finding vnicd, a build tree comes
// first (the binaries next to this one), then the source tree this binary was built from, then
// PATH, so a build directory's vnic-bench uses that build's vnicd and vnicctl.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace vnic_bench {

// This binary's own path (/proc/self/exe resolved: a child started through `ip netns exec`
// must be given the real path, not /proc/self/exe, which would name ip).
std::string self_executable();

// The first executable NAME in PATH.
std::optional<std::string> find_in_path(std::string_view name);

// NAME from PATH, or std::runtime_error("NAME: not found in PATH (HINT)").
std::string require_in_path(std::string_view name, std::string_view hint);

// The build directory this binary belongs to (BUILD/tools/vnic-bench/vnic-bench with
// BUILD/daemon/vnicd next to it), for vnic-lab's VNIC_BUILD.
std::optional<std::string> own_build_dir();

// The vnic-lab script: $VNIC_LAB_SCRIPT, next to this binary, the source tree, PATH.
std::string find_vnic_lab_script();

// vnicctl: this build's, the source tree's build/, PATH.
std::string find_vnicctl();

}  // namespace vnic_bench
