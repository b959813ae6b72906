#include "blockxport/volume_format.h"

#include <sys/random.h>
#include <uuid/uuid.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include <fmt/format.h>

#include "blockxport/aligned_buffer.h"
#include "blockxport/volume.h"

namespace blockxport {
namespace {

constexpr uint64_t kGuardBytes = 1 << 20;  // the first MiB must be empty unless --force

bool is_power_of_two(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

// Refuses to overwrite what is not ours to overwrite.
void check_overwrite_allowed(const Volume& volume) {
  uint64_t length = std::min<uint64_t>(kGuardBytes, volume.size_bytes()) / 4096 * 4096;
  if (length == 0) return;
  AlignedBuffer buffer(length, 4096);
  volume.read_exact(buffer.data(), length, 0);
  auto existing = decode_superblock(buffer.span());
  if (existing.error == DecodeError::none || existing.error == DecodeError::bad_checksum ||
      existing.error == DecodeError::bad_version || existing.error == DecodeError::bad_field) {
    std::string what = existing.error == DecodeError::none
                           ? fmt::format("a vnic volume (uuid {}, label '{}')", format_uuid(existing.superblock.uuid),
                                         existing.superblock.label)
                           : "a vnic superblock";
    throw VolumeError(fmt::format("{}: already holds {}; use --force to overwrite it", volume.path(), what));
  }
  auto* bytes = buffer.data();
  if (std::any_of(bytes, bytes + length, [](std::byte b) { return b != std::byte{0}; }))
    throw VolumeError(fmt::format("{}: holds data in its first MiB; use --force to overwrite it", volume.path()));
}

void zero_range(const Volume& volume, uint64_t offset, uint64_t length) {
  constexpr uint64_t kChunk = 1 << 20;
  AlignedBuffer zeros(kChunk, 4096);
  while (length > 0) {
    uint64_t n = std::min(kChunk, length);
    volume.write_exact(zeros.data(), n, offset);
    offset += n;
    length -= n;
  }
}

}  // namespace

uint64_t volume_bytes_needed(uint32_t block_size, uint32_t slots, uint64_t ring_blocks) {
  return rings_offset_for(block_size, slots) + uint64_t{slots} * ring_blocks * block_size;
}

Superblock format_volume(const std::string& path, const FormatOptions& options) {
  if (!is_power_of_two(options.block_size) || options.block_size < kMinBlockSize || options.block_size > kMaxBlockSize)
    throw VolumeError(
        fmt::format("{}: block size {} is not a power of two between 4 KiB and 1 MiB", path, options.block_size));
  if (options.slots < 1 || options.slots > kMaxSlots)
    throw VolumeError(fmt::format("{}: slot count {} is not between 1 and {}", path, options.slots, kMaxSlots));
  if (options.label.size() >= kLabelBytes)
    throw VolumeError(fmt::format("{}: label is longer than {} bytes", path, kLabelBytes - 1));

  Volume volume = Volume::open(path, {VolumeAccess::read_write, false});
  if (options.block_size % volume.logical_block_size() != 0)
    throw VolumeError(fmt::format("{}: block size {} is not a multiple of the device's logical block size {}", path,
                                  options.block_size, volume.logical_block_size()));
  uint64_t rings_offset = rings_offset_for(options.block_size, options.slots);
  uint64_t ring_blocks = 0;
  if (options.ring_blocks) {
    ring_blocks = *options.ring_blocks;
  } else if (volume.size_bytes() > rings_offset) {
    ring_blocks = (volume.size_bytes() - rings_offset) / (uint64_t{options.slots} * options.block_size);
  }
  if (ring_blocks < kMinRingBlocks)
    throw VolumeError(fmt::format("{}: too small: {} bytes hold {} blocks of {} bytes per slot, at least {} are needed",
                                  path, volume.size_bytes(), ring_blocks, options.block_size, kMinRingBlocks));
  uint64_t needed = volume_bytes_needed(options.block_size, options.slots, ring_blocks);
  if (needed > volume.size_bytes())
    throw VolumeError(
        fmt::format("{}: too small: the format needs {} bytes, the volume has {}", path, needed, volume.size_bytes()));
  if (!options.force) check_overwrite_allowed(volume);

  Superblock sb;
  uuid_t raw;
  uuid_generate_random(raw);
  std::memcpy(sb.uuid.data(), raw, sb.uuid.size());
  sb.block_size = options.block_size;
  sb.slot_count = options.slots;
  sb.ring_blocks = ring_blocks;
  sb.created_unix_ns = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
  sb.label = options.label;

  // The superblock goes last: a format cut short leaves no superblock, never a half-made volume.
  zero_range(volume, 0, 4096);
  zero_range(volume, kStateTableOffset, sb.state_table_bytes());
  if (!volume.is_block_device()) zero_range(volume, rings_offset, needed - rings_offset);
  AlignedBuffer first(4096, 4096);
  encode_superblock(sb, std::span<std::byte, kSuperblockBytes>(first.data(), kSuperblockBytes));
  volume.write_exact(first.data(), 4096, 0);
  if (fdatasync(volume.fd()) != 0)
    throw VolumeError(fmt::format("{}: fdatasync failed: {}", path, std::strerror(errno)));
  return sb;
}

}  // namespace blockxport
