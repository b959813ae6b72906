// libFuzzer target: arbitrary bytes as a ring block, through the checks and the record walk the
// reader runs on everything it reads from a volume.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "blockxport/block_codec.h"
#include "blockxport/format.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace blockxport;
  static FrameAssembler assembler;
  static std::vector<FrameSpan> frames;
  auto bytes = std::span(reinterpret_cast<const std::byte*>(data), size);
  for (uint32_t block_size : {4096u, 65536u}) {
    auto d = decode_block(bytes, block_size);
    if (d.check != BlockCheck::ok) continue;
    frames.clear();
    auto result = assembler.take(bytes.first(d.header.valid_bytes), d.header, (size & 1) != 0, frames);
    size_t total = 0;
    for (auto f : frames) total += f.size();
    if (result.well_formed && total > d.header.valid_bytes + kMaxFrameBytes) __builtin_trap();
  }
  return 0;
}
