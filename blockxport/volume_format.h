// Writing a fresh format onto a volume (vnicctl format, --format-if-empty).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "blockxport/format.h"

namespace blockxport {

struct FormatOptions {
  uint32_t block_size = 64 * 1024;
  uint32_t slots = 1;
  std::optional<uint64_t> ring_blocks;  // default: the rings fill the volume
  std::string label;
  bool force = false;  // overwrite a vnic volume or other data
};

// Checks everything first and writes nothing unless all is well; then zeroes the state table
// (and, on regular files, the rings, so that no extent is left unwritten) and writes the
// superblock last. Throws VolumeError("PATH: what is wrong").
Superblock format_volume(const std::string& path, const FormatOptions& options);

// The bytes a volume needs for this format.
uint64_t volume_bytes_needed(uint32_t block_size, uint32_t slots, uint64_t ring_blocks);

}  // namespace blockxport
