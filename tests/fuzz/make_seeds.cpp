// Writes valid blocks, superblocks and state records as seed inputs for the fuzz targets.
#include <fstream>
#include <string>
#include <vector>

#include "blockxport/block_codec.h"
#include "blockxport/format.h"

using namespace blockxport;

namespace {
void write_file(const std::string& path, const std::vector<std::byte>& bytes, size_t length) {
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(length));
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  std::string block_dir = argv[1], super_dir = argv[2];
  std::vector<std::byte> block(4096);
  BlockBuilder builder;
  const size_t sizes[][3] = {{60, 0, 0}, {100, 200, 300}, {5000, 0, 0}, {4024, 0, 0}};
  for (size_t i = 0; i < 4; ++i) {
    std::fill(block.begin(), block.end(), std::byte{0});
    builder.start(block);
    for (size_t s : sizes[i]) {
      if (s == 0) continue;
      std::vector<std::byte> frame(s, std::byte(i + 1));
      builder.append(frame, i == 3 ? 10 : 0);
    }
    BlockHeader h;
    h.sequence = i + 1;
    h.epoch = 7;
    builder.seal(h, 0);
    write_file(block_dir + "/seed" + std::to_string(i), block, builder.used_bytes());
  }
  Superblock sb;
  sb.block_size = 65536;
  sb.slot_count = 2;
  sb.ring_blocks = 100;
  sb.label = "seed";
  std::vector<std::byte> super(kSuperblockBytes);
  encode_superblock(sb, std::span<std::byte, kSuperblockBytes>(super.data(), kSuperblockBytes));
  write_file(super_dir + "/superblock", super, super.size());
  StateRecord r;
  r.status = WriterStatus::running;
  r.heartbeat = 3;
  std::vector<std::byte> state(kStateRecordBytes);
  encode_state_record(r, std::span<std::byte, kStateRecordBytes>(state.data(), kStateRecordBytes));
  write_file(super_dir + "/state", state, state.size());
  return 0;
}
