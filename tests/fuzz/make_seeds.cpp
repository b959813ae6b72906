// Writes valid blocks, superblocks and state records as seed inputs for the fuzz targets: every
// layout the decoders accept, so mutation starts past the magic, version and CRC checks.
// Usage: make_fuzz_seeds CORPUS_ROOT   (writes CORPUS_ROOT/{block,superblock,state}/gen-*)
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <vector>

#include "blockxport/block_codec.h"
#include "blockxport/format.h"

using namespace blockxport;

namespace {

void write_file(const std::filesystem::path& path, std::span<const std::byte> bytes) {
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

Uuid test_uuid(int n) {
  Uuid u{};
  for (size_t i = 0; i < u.size(); ++i) u[i] = std::byte(n * 16 + static_cast<int>(i));
  return u;
}

void write_blocks(const std::filesystem::path& dir) {
  struct Seed {
    size_t block_size;
    std::vector<size_t> frames;
    size_t first_offset;  // > 0: the block starts with the tail of a frame begun earlier
  };
  const Seed seeds[] = {
      {4096, {60}, 0},
      {4096, {100, 200, 300}, 0},
      {4096, {5000}, 0},   // split: ends with a FIRST-only record
      {4096, {4024}, 10},  // a middle or LAST fragment first
      {4096, {1, 1, 1, 1, 1}, 0},
      {65536, {1514, 1514, 1514, 9000}, 0},
      {65536, {70000}, 0},      // a GSO-sized frame, split
      {65536, {70000}, 65000},  // its tail
  };
  int n = 0;
  for (const Seed& s : seeds) {
    std::vector<std::byte> block(s.block_size);
    BlockBuilder builder;
    builder.start(block);
    for (size_t size : s.frames) {
      std::vector<std::byte> frame(size, std::byte(n + 1));
      if (builder.append(frame, s.first_offset) == 0) break;
    }
    BlockHeader h;
    h.slot = n % 2;
    h.sequence = static_cast<uint64_t>(n) + 1;
    h.epoch = 7;
    h.volume_tag = 0x1122334455667788;
    builder.seal(h, 0);
    write_file(dir / ("gen-block" + std::to_string(n++)), std::span(block).first(builder.sealed_bytes()));
  }
  // An authenticated block: a tag after the records. Its tag is not a real MAC (decode_block and
  // the record walk do not check it; the reader does, with its keys), but the layout is right.
  std::vector<std::byte> block(4096);
  std::vector<std::byte> frame(300, std::byte{0x5a});
  RecordHeader record{static_cast<uint32_t>(frame.size()), kRecordFirst | kRecordLast};
  encode_record_header(record, block.data() + kBlockHeaderBytes);
  std::copy(frame.begin(), frame.end(), block.begin() + kBlockHeaderBytes + kRecordHeaderBytes);
  BlockHeader h;
  h.flags = kBlockAuthenticated;
  h.record_count = 1;
  h.sequence = 1;
  h.key_id = 1;
  h.valid_bytes = static_cast<uint32_t>(kBlockHeaderBytes + kRecordHeaderBytes + frame.size() + kAuthTagBytes);
  seal_block(h, block);
  write_file(dir / "gen-block-auth", std::span(block).first(h.valid_bytes));
  // A shared LUN's version 2 block: destinations and the header CRC, a frame split off at its end.
  std::vector<std::byte> v2(4096);
  BlockBuilder v2_builder;
  v2_builder.start(v2, nullptr, kBlockVersion2);
  v2_builder.append(std::vector<std::byte>(100, std::byte{0x11}), 0, uint64_t{1} << 3);
  v2_builder.append(std::vector<std::byte>(9000, std::byte{0x22}), 0, uint64_t{1} << 5);
  BlockHeader v2_header;
  v2_header.sequence = 3;
  v2_header.epoch = 7;
  v2_builder.seal(v2_header, 0);
  write_file(dir / "gen-block-v2", std::span(v2).first(v2_builder.sealed_bytes()));
}

void write_superblocks(const std::filesystem::path& dir) {
  struct Seed {
    uint32_t block_size, slots;
    uint64_t ring_blocks;
    std::string label;
  };
  const Seed seeds[] = {
      {65536, 2, 100, "seed"},
      {4096, 1, 8, ""},
      {kMaxBlockSize, kMaxSlots, 1000, std::string(kLabelBytes - 1, 'x')},
      {16384, 8, 1u << 20, "node-a \xc3\xa9"},
  };
  int n = 0;
  for (const Seed& s : seeds) {
    Superblock sb;
    sb.uuid = test_uuid(n);
    sb.block_size = s.block_size;
    sb.slot_count = s.slots;
    sb.ring_blocks = s.ring_blocks;
    sb.created_unix_ns = 1700000000000000000;
    sb.label = s.label;
    std::vector<std::byte> bytes(kSuperblockBytes);
    encode_superblock(sb, std::span<std::byte, kSuperblockBytes>(bytes.data(), kSuperblockBytes));
    write_file(dir / ("gen-superblock" + std::to_string(n++)), bytes);
  }
}

void write_states(const std::filesystem::path& dir) {
  int n = 0;
  auto emit = [&](const StateRecord& r) {
    std::vector<std::byte> bytes(kStateRecordMaxBytes);
    size_t length = encode_state_record(r, bytes);
    write_file(dir / ("gen-state" + std::to_string(n++)), std::span(bytes).first(length));
  };
  StateRecord r;
  r.uuid = test_uuid(1);
  r.epoch = 0x0123456789abcdef;
  r.status = WriterStatus::running;
  r.heartbeat = 3;
  r.head_sequence = 42;
  r.epoch_first_sequence = 40;
  r.writer_monotonic_ns = 123456789;
  r.acks[0] = 41;
  emit(r);
  r.status = WriterStatus::clean_stop;
  r.slot = kMaxSlots - 1;
  for (size_t j = 0; j < kMaxSlots; ++j) r.acks[j] = j * 1000;
  emit(r);
  r.status = WriterStatus::empty;
  r.slot = 0;
  emit(r);
  r.status = WriterStatus::running;
  r.auth.emplace();
  r.auth->key_id = 1;
  r.auth->peer_epoch = 0xfedcba9876543210;
  r.auth->peer_heartbeat = 17;
  r.auth->tag.fill(std::byte{0xa5});
  emit(r);
  // Version 2, a shared LUN's slot: the owner, and one echo per slot.
  r.version = kStateRecordVersion2;
  r.owner = "node-b";
  r.ifname = "vnic0";
  r.started_unix_ns = 1700000000000000000;
  r.auth->echoes[3] = {0x0123, 5};
  emit(r);
  r.auth.reset();
  emit(r);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  std::filesystem::path root = argv[1];
  for (const char* kind : {"block", "superblock", "state"}) std::filesystem::create_directories(root / kind);
  write_blocks(root / "block");
  write_superblocks(root / "superblock");
  write_states(root / "state");
  return 0;
}
