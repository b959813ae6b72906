// Getting the benchmark's volume into shape: use it as formatted, or format it when it is empty,
// when its block size is not the one asked for, or when --format says so.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "blockxport/format.h"

namespace vnic_bench {

inline constexpr uint32_t kDefaultBlockSize = 64 * 1024;

struct BenchVolume {
  blockxport::Superblock superblock;
  bool formatted_now = false;
};

// `block_size`: nullopt keeps a formatted volume's block size (kDefaultBlockSize for a fresh one).
// Without `force_format`, only an all-zero volume is formatted; anything else that is not a
// usable vnic volume of the right block size is refused with a one-line std::runtime_error
// naming the path, what is wrong and the flag that would overwrite it.
BenchVolume prepare_bench_volume(const std::string& path, std::optional<uint32_t> block_size, bool force_format);

}  // namespace vnic_bench
