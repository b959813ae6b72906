// libFuzzer target: arbitrary bytes as a ring block, through the checks and the record walk the
// reader runs on everything it reads from a volume. A block whose only fault is its CRC is also
// resealed (finish_block) and walked, so the record walk sees mutated records, not just the
// handful of seeds whose CRC survives mutation.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "blockxport/block_codec.h"
#include "blockxport/format.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using namespace blockxport;
using vnic_fuzz::require;

FrameAssembler& assembler() {
  static FrameAssembler instance;  // two 128 KiB buffers: too costly to build per input
  return instance;
}

void walk(std::span<const std::byte> bytes, const BlockHeader& header, bool continuous) {
  static std::vector<FrameSpan> frames;
  frames.clear();
  auto result = assembler().take(bytes.first(header.valid_bytes), header, continuous, frames);
  size_t total = 0;
  for (auto f : frames) {
    require(f.size() <= kMaxFrameBytes);
    total += f.size();
  }
  require(result.frames == frames.size());
  if (!result.well_formed) require(frames.empty());
  // A block can complete one frame begun earlier (at most kMaxFrameBytes) plus its own bytes.
  require(total <= header.valid_bytes + kMaxFrameBytes);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto bytes = std::span(reinterpret_cast<const std::byte*>(data), size);
  static std::vector<std::byte> copy;
  // The assembler carries open frames from block to block, as in the reader; start each input
  // with none open, so an input that fails fails again when replayed alone.
  assembler().abandon();
  for (uint32_t block_size : {4096u, 65536u}) {
    auto d = decode_block(bytes, block_size);
    if (d.check == BlockCheck::ok) {
      require(d.header.valid_bytes >= kBlockHeaderBytes && d.header.valid_bytes <= block_size &&
              d.header.valid_bytes <= size);
      walk(bytes, d.header, (size & 1) != 0);
    } else if (d.check == BlockCheck::bad_checksum && d.header.valid_bytes <= size) {
      // (A version 2 header whose own CRC fails says so before its valid_bytes is held against
      // the input's length; resealing one that claims more bytes than it has would read past it.)
      copy.assign(bytes.begin(), bytes.end());
      finish_block(copy);
      auto resealed = decode_block(copy, block_size);
      require(resealed.check == BlockCheck::ok);  // the CRC was the only fault
      walk(copy, resealed.header, (size & 1) != 0);
    }
  }
  return 0;
}
