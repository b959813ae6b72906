// Authenticated blocks through the real writer and reader, with the test as the storage mirror
// and as the attacker: someone who can write the receive volume but holds no key.
#include <catch2/catch.hpp>

#include "auth_rig.h"
#include "transport_rig.h"

using namespace blockxport;
using namespace vnic_test;
using std::chrono::milliseconds;

namespace {

// Every frame in its own block (the writer is idle each time): block s carries frame s - 1.
void send_one_per_block(MirrorRig& rig, CheckingSink& sink, uint64_t first_index, size_t count, size_t size = 700) {
  for (size_t i = 0; i < count; ++i) {
    rig.send_frames(first_index + i, 1, size, sink);
    rig.drain_writer();
  }
}

Bytes read_position(MirrorRig& rig, Volume& volume, uint64_t sequence) {
  AlignedBuffer buffer(rig.superblock.block_size, 4096);
  volume.read_exact(buffer.data(), rig.superblock.block_size, rig.superblock.block_offset(0, sequence));
  return Bytes(buffer.data(), buffer.data() + rig.superblock.block_size);
}

void write_received(MirrorRig& rig, uint64_t sequence, const Bytes& block) {
  AlignedBuffer buffer(rig.superblock.block_size, 4096);
  std::memcpy(buffer.data(), block.data(), block.size());
  rig.recv->write_exact(buffer.data(), rig.superblock.block_size, rig.superblock.block_offset(0, sequence));
}

BlockPlace place_of(MirrorRig& rig, uint64_t sequence) { return {0, rig.writer_epoch, sequence, rig.superblock.uuid}; }

// How every test here begins: keys on either side (null: none), then the reader attached.
void key_and_attach(MirrorRig& rig, const Keyring* writer_keys, const Keyring* reader_keys) {
  if (writer_keys) rig.writer->set_keys(writer_keys, Clock::now());
  if (reader_keys) rig.reader->set_keys(reader_keys);
  rig.reader->attach(rig.writer_view(), Clock::now());
}

}  // namespace

TEST_CASE("authenticated and encrypted blocks cross the mirror over many laps, every frame intact",
          "[transport][auth]") {
  bool encrypt = GENERATE(false, true);
  DYNAMIC_SECTION("encrypt " << encrypt) {
    MirrorRig rig(4096, 16);
    auto keys = keyring(1, encrypt);
    CheckingSink sink;
    key_and_attach(rig, keys.get(), keys.get());
    uint64_t index = 0;
    for (int round = 0; round < 40; ++round) {
      size_t count = 1 + round % 7, size = 1 + (round * 997) % 4200;
      rig.writer->set_reader_progress(rig.reader->consumed(), true);
      uint64_t before = rig.writer->next_sequence();
      rig.send_frames(index, count, size, sink);
      rig.drain_writer();
      rig.mirror_range(before, rig.writer->next_sequence());
      index += count;
      rig.run_reader(sink, [&] { return sink.indices.size() + sink.corrupt >= index; });
      REQUIRE(sink.indices.size() == index);
    }
    CHECK(sink.corrupt == 0);
    CHECK(sink.in_order());
    CHECK(rig.writer->next_sequence() > 16 * 3);
    CHECK(rig.reader->stats().auth_failed_blocks == 0);
    // Frames are on the volume in the clear only without encryption: the end of the last frame
    // is in the last block.
    Bytes last_block = read_position(rig, *rig.recv, rig.writer->next_sequence() - 1);
    Bytes last_frame = indexed_frame(index - 1, 1 + (39 * 997) % 4200);
    CHECK(contains(last_block, Bytes(last_frame.end() - 64, last_frame.end())) == !encrypt);
  }
}

TEST_CASE("keys on one side only: the reader delivers nothing, and counts it", "[transport][auth]") {
  bool reader_has_key = GENERATE(true, false);
  DYNAMIC_SECTION("reader has the key " << reader_has_key) {
    MirrorRig rig(4096, 16);
    auto keys = keyring(1);
    CheckingSink sink;
    key_and_attach(rig, reader_has_key ? nullptr : keys.get(), reader_has_key ? keys.get() : nullptr);
    send_one_per_block(rig, sink, 0, 3);
    rig.mirror_range(1, 4);
    rig.run_reader_for(sink, milliseconds(100));
    CHECK(sink.indices.empty());
    // A block without a tag fails authentication; one with a tag but no key to check it is "no key".
    CHECK((reader_has_key ? rig.reader->stats().auth_failed_blocks : rig.reader->stats().auth_no_key_blocks) >= 1);
    CHECK(rig.reader->stats().frames_delivered == 0);
  }
}

TEST_CASE("a forged, altered or misplaced block is never delivered; the traffic around it is", "[transport][auth]") {
  bool encrypt = GENERATE(false, true);
  auto kind = GENERATE(as<std::string>{}, "forged with another key", "forged without a key", "altered",
                       "replayed from another sequence", "replayed from another epoch", "replayed from another volume");
  DYNAMIC_SECTION(kind << ", encrypt " << encrypt) {
    MirrorRig rig(4096, 16);
    auto keys = keyring(1, encrypt);
    CheckingSink sink;
    key_and_attach(rig, keys.get(), keys.get());
    send_one_per_block(rig, sink, 0, 3);
    REQUIRE(rig.writer->next_sequence() == 4);

    // What the attacker writes at sequence 2's place, CRC and all.
    Bytes bad;
    Bytes frame = indexed_frame(1, 700);  // what the sink expects there: only the tag can tell
    if (kind == "forged with another key") {
      bad = sealed_block(keyring(7, encrypt).get(), {frame}, place_of(rig, 2));
      le::store<uint32_t>(bad.data() + 0x2C, keys->write_key_id());  // claiming our key id
      fix_block_crc(bad);
    } else if (kind == "forged without a key") {
      bad = sealed_block(nullptr, {frame}, place_of(rig, 2));
    } else if (kind == "altered") {
      bad = read_position(rig, *rig.send, 2);
      bad[64 + 8 + 100] ^= std::byte{0x40};
      fix_block_crc(bad);
    } else if (kind == "replayed from another sequence") {
      bad = read_position(rig, *rig.send, 1);
      le::store<uint64_t>(bad.data() + 0x18, 2);
      fix_block_crc(bad);
    } else if (kind == "replayed from another epoch") {
      BlockPlace old = place_of(rig, 2);
      old.epoch = 0x0DDEB0C5;
      bad = sealed_block(keys.get(), {frame}, old);
      le::store<uint64_t>(bad.data() + 0x10, rig.writer_epoch);
      fix_block_crc(bad);
    } else {
      BlockPlace elsewhere = place_of(rig, 2);
      elsewhere.volume = kVolumeB;
      bad = sealed_block(keys.get(), {frame}, elsewhere);
      le::store<uint64_t>(bad.data() + 0x30, rig.superblock.volume_tag());
      fix_block_crc(bad);
    }
    REQUIRE(decode_block(bad, 4096).check == BlockCheck::ok);  // the CRC alone would take it

    rig.mirror(1);
    write_received(rig, 2, bad);
    rig.mirror(3);
    rig.reader->note_writer(rig.writer_view());  // its state record: head is past sequence 2
    rig.run_reader(sink, [&] { return sink.indices.size() >= 2; });
    CHECK(sink.indices == std::vector<uint64_t>{0, 2});
    CHECK(sink.corrupt == 0);
    CHECK(rig.reader->stats().auth_failed_blocks == 1);
    CHECK(rig.reader->stats().corrupt_blocks == 1);  // skipped once the writer was past it
  }
}

TEST_CASE("an old authentic block put back at its own ring position is never delivered again", "[transport][auth]") {
  MirrorRig rig(4096, 16);
  auto keys = keyring(1, true);
  CheckingSink sink;
  key_and_attach(rig, keys.get(), keys.get());
  send_one_per_block(rig, sink, 0, 1);
  rig.mirror(1);
  rig.run_reader(sink, [&] { return sink.indices.size() == 1; });
  REQUIRE(sink.indices == std::vector<uint64_t>{0});
  Bytes first_lap = read_position(rig, *rig.recv, 1);
  // A lap later: sequence 17 takes sequence 1's place, and the attacker puts sequence 1 back.
  for (uint64_t i = 1; i < 17; ++i) {
    rig.writer->set_reader_progress(rig.reader->consumed(), true);
    send_one_per_block(rig, sink, i, 1);
    if (i < 16) rig.mirror(i + 1);
    rig.run_reader(sink, [&] { return sink.indices.size() == std::min<uint64_t>(i + 1, 16); });
  }
  REQUIRE(rig.writer->next_sequence() == 18);
  REQUIRE(sink.indices.size() == 16);
  write_received(rig, 17, first_lap);
  rig.writer->set_reader_progress(rig.reader->consumed(), true);
  send_one_per_block(rig, sink, 17, 1);
  rig.mirror(18);
  rig.reader->note_writer(rig.writer_view());
  rig.run_reader(sink, [&] { return sink.indices.size() == 17; });
  // Frame 16 (sequence 17) is lost to the attacker; frame 0 is not delivered a second time.
  CHECK(sink.indices.size() == 17);
  CHECK(sink.in_order());
  CHECK(std::count(sink.indices.begin(), sink.indices.end(), 0) == 1);
  CHECK(rig.reader->stats().missing_blocks == 1);
}

TEST_CASE("a rolling key change on both sides loses no frame, and encryption may change on the way",
          "[transport][auth]") {
  MirrorRig rig(4096, 16);
  auto old_keys = keyring(1);
  CheckingSink sink;
  key_and_attach(rig, old_keys.get(), old_keys.get());
  uint64_t index = 0, mirrored = 1;
  auto exchange = [&](size_t count) {
    rig.writer->set_reader_progress(rig.reader->consumed(), true);
    rig.send_frames(index, count, 900, sink);
    rig.drain_writer();
    rig.mirror_range(mirrored, rig.writer->next_sequence());
    mirrored = rig.writer->next_sequence();
    index += count;
    rig.run_reader(sink, [&] { return sink.indices.size() >= index; });
    REQUIRE(sink.indices.size() == index);
  };
  exchange(5);
  auto step_a = keyring(1, false, 2);  // the new key accepted, the old one still sealing
  rig.reader->set_keys(step_a.get());
  exchange(5);
  auto step_b = keyring(2, true, 1);  // the new key sealing (and encrypting), the old one accepted
  rig.writer->set_keys(step_b.get(), Clock::now());
  exchange(5);
  rig.reader->set_keys(step_b.get());
  exchange(5);
  auto step_c = keyring(2, true);  // the old key gone
  rig.reader->set_keys(step_c.get());
  rig.writer->set_keys(step_c.get(), Clock::now());
  exchange(5);
  CHECK(sink.in_order());
  CHECK(sink.corrupt == 0);
  CHECK(rig.reader->stats().auth_failed_blocks == 0);
}

TEST_CASE("new keys on a writer seal its partial block with the old ones first", "[transport][auth]") {
  MirrorRig rig(4096, 16, EngineKind::automatic, 1);  // one write in flight: the next block waits
  auto old_keys = keyring(1), new_keys = keyring(2, true), both = keyring(2, false, 1);
  CheckingSink sink;
  key_and_attach(rig, old_keys.get(), both.get());
  std::vector<Bytes> frames;
  for (uint64_t i = 0; i < 3; ++i) {
    frames.push_back(indexed_frame(i, 500));
    sink.sizes[i] = 500;
  }
  auto send = [&](size_t i) {
    std::vector<FrameSpan> view{frames[i]};
    REQUIRE(rig.writer->send(view, Clock::now()) == 1);
    rig.writer->flush(Clock::now());
  };
  send(0);  // sequence 1 is written at once ...
  REQUIRE(rig.writer->in_flight() == 1);
  send(1);  // ... so sequence 2 is still filling
  rig.writer->set_keys(new_keys.get(), Clock::now());
  send(2);
  rig.drain_writer();
  REQUIRE(rig.writer->next_sequence() == 4);
  rig.mirror_range(1, 4);
  rig.run_reader(sink, [&] { return sink.indices.size() == 3; });
  CHECK(sink.indices == std::vector<uint64_t>{0, 1, 2});
  auto header_at = [&](uint64_t sequence) {
    return decode_block(read_position(rig, *rig.recv, sequence), 4096).header;
  };
  CHECK(header_at(2).key_id == old_keys->write_key_id());
  CHECK(!header_at(2).encrypted());
  CHECK(header_at(3).key_id == new_keys->write_key_id());
  CHECK(header_at(3).encrypted());
}
