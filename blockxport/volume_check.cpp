#include "blockxport/volume_check.h"

#include <fmt/format.h>

#include "blockxport/aligned_buffer.h"

namespace blockxport {

SuperblockProbe probe_formatted_superblock(const Volume& volume) {
  SuperblockProbe probe;
  if (volume.size_bytes() < 4096) {
    probe.problem = fmt::format("{}: too small to hold a superblock ({} bytes)", volume.path(), volume.size_bytes());
    return probe;
  }
  AlignedBuffer buffer(4096, 4096);
  volume.read_exact(buffer.data(), 4096, 0);
  auto decoded = decode_superblock(buffer.span());
  if (decoded.error != DecodeError::none) {
    probe.unformatted = decoded.error == DecodeError::all_zero;
    probe.problem = fmt::format("{}: {}", volume.path(), decoded.message);
    return probe;
  }
  const Superblock& sb = decoded.superblock;
  if (volume.size_bytes() < sb.required_volume_bytes()) {
    probe.problem = fmt::format("{}: truncated: the format needs {} bytes, the volume has {}", volume.path(),
                                sb.required_volume_bytes(), volume.size_bytes());
    return probe;
  }
  if (sb.block_size % volume.logical_block_size() != 0) {
    probe.problem = fmt::format("{}: block size {} is not a multiple of the device's logical block size {}",
                                volume.path(), sb.block_size, volume.logical_block_size());
    return probe;
  }
  probe.superblock = sb;
  return probe;
}

Superblock read_formatted_superblock(const Volume& volume) {
  auto probe = probe_formatted_superblock(volume);
  if (!probe.superblock) throw VolumeError(probe.problem);
  return *probe.superblock;
}

}  // namespace blockxport
