// Authenticated and encrypted blocks and state records, byte by byte: what the tag binds, and
// that an attacker who can write the volume (and so fix every CRC) cannot get a change past it.
#include <catch2/catch.hpp>

#include "auth_rig.h"

using namespace blockxport;
using namespace vnic_test;

namespace {

const std::vector<Bytes> kFrames = {make_frame(300, 1), make_frame(57, 2), make_frame(1000, 3)};

StateRecord sample_record() {
  StateRecord r;
  r.slot = 0;
  r.uuid = kVolumeA;
  r.epoch = 0x0102030405060708ull;
  r.status = WriterStatus::running;
  r.heartbeat = 41;
  r.head_sequence = 900;
  r.writer_monotonic_ns = 5555;
  r.epoch_first_sequence = 800;
  r.acks[0] = 77;
  r.auth = StateRecordAuth{0, 0xAAAABBBBCCCCDDDDull, 1234, {}};
  return r;
}

std::vector<std::byte> sealed_record(const Keyring* keys, StateRecord r = sample_record()) {
  std::vector<std::byte> bytes(kStateRecordStride);
  seal_state_record(r, keys, bytes);
  return bytes;
}

AuthResult check_record(const Keyring* keys, const std::vector<std::byte>& bytes) {
  auto d = decode_state_record(bytes);
  REQUIRE(d.error == DecodeError::none);
  return authenticate_state_record(keys, bytes, d.record);
}

}  // namespace

TEST_CASE("an authenticated block carries flags, key id and tag at their documented places", "[auth]") {
  auto keys = keyring(1);
  Bytes block = sealed_block(keys.get(), kFrames);
  uint32_t records = 3 * 8 + 300 + 57 + 1000;
  CHECK(le::u16(block.data() + 0x06) == kBlockAuthenticated);
  CHECK(le::u32(block.data() + 0x2C) == keys->write_key_id());
  CHECK(le::u32(block.data() + 0x28) == 64 + records + 16);  // valid_bytes counts the tag
  CHECK(le::u32(block.data() + 0x38) == 0);
  auto d = decode_block(block, 4096);
  REQUIRE(d.check == BlockCheck::ok);
  CHECK(d.header.records_end() == 64 + records);
  CHECK(d.header.key_id == keys->write_key_id());
  // The CRC covers the tag too: a torn tag is a torn block, found before any crypto runs.
  Bytes torn = block;
  torn[64 + records + 3] ^= std::byte{1};
  CHECK(decode_block(torn, 4096).check == BlockCheck::bad_checksum);
}

TEST_CASE("authenticated and encrypted blocks round-trip; only encryption hides the frames", "[auth]") {
  bool encrypt = GENERATE(false, true);
  DYNAMIC_SECTION("encrypt " << encrypt) {
    auto keys = keyring(1, encrypt);
    Bytes block = sealed_block(keys.get(), kFrames);
    CHECK(le::u16(block.data() + 0x06) == (encrypt ? kBlockAuthenticated | kBlockEncrypted : kBlockAuthenticated));
    CHECK(contains(block, kFrames[2]) == !encrypt);
    Opened opened = open_block(keys.get(), block);
    REQUIRE(opened.delivered());
    CHECK(opened.frames == kFrames);
  }
}

TEST_CASE("every single-bit change of an authenticated block is refused, even with its CRC fixed", "[auth]") {
  bool encrypt = GENERATE(false, true);
  DYNAMIC_SECTION("encrypt " << encrypt) {
    auto keys = keyring(1, encrypt);
    Bytes good = sealed_block(keys.get(), {make_frame(200, 1), make_frame(31, 2)});
    REQUIRE(open_block(keys.get(), good).delivered());
    uint32_t valid = le::u32(good.data() + 0x28);
    size_t refused_by_tag = 0;
    for (size_t bit = 0; bit < size_t{valid} * 8; ++bit) {
      if (bit / 8 >= 0x3C && bit / 8 < 0x40) continue;  // the CRC itself
      Bytes changed = good;
      changed[bit / 8] ^= std::byte(1u << (bit % 8));
      fix_block_crc(changed);
      Opened opened = open_block(keys.get(), changed);
      INFO("bit " << bit << ": " << block_check_name(opened.check) << ", " << auth_result_name(opened.auth));
      REQUIRE(!opened.delivered());
      if (opened.check == BlockCheck::ok) ++refused_by_tag;
    }
    // Nearly all of them pass the CRC and structure checks: the tag is what refuses them.
    CHECK(refused_by_tag > size_t{valid} * 8 * 9 / 10);
  }
}

TEST_CASE("a block is bound to its volume, slot, epoch and sequence", "[auth]") {
  bool encrypt = GENERATE(false, true);
  DYNAMIC_SECTION("encrypt " << encrypt) {
    auto keys = keyring(1, encrypt);
    Bytes good = sealed_block(keys.get(), kFrames);
    SECTION("read on another volume") { CHECK(open_block(keys.get(), good, kVolumeB).auth == AuthResult::bad_tag); }
    SECTION("moved to another volume, its tag rewritten to that volume's") {
      Bytes moved = good;
      le::store<uint64_t>(moved.data() + 0x30, le::u64(kVolumeB.data()));
      fix_block_crc(moved);
      CHECK(open_block(keys.get(), moved, kVolumeB).auth == AuthResult::bad_tag);
    }
    SECTION("renumbered to another sequence (another ring position or lap)") {
      Bytes moved = good;
      le::store<uint64_t>(moved.data() + 0x18, 6);
      fix_block_crc(moved);
      CHECK(open_block(keys.get(), moved).auth == AuthResult::bad_tag);
    }
    SECTION("given another epoch (replayed after a restart)") {
      Bytes moved = good;
      le::store<uint64_t>(moved.data() + 0x10, 0x99);
      fix_block_crc(moved);
      CHECK(open_block(keys.get(), moved).auth == AuthResult::bad_tag);
    }
    SECTION("given another slot") {
      Bytes moved = good;
      le::store<uint32_t>(moved.data() + 0x08, 1);
      fix_block_crc(moved);
      CHECK(open_block(keys.get(), moved).auth == AuthResult::bad_tag);
    }
  }
}

TEST_CASE("keys on one side only: nothing is delivered, and the reason is told apart", "[auth]") {
  auto keys = keyring(1);
  CHECK(open_block(nullptr, sealed_block(keys.get(), kFrames)).auth == AuthResult::no_key);
  CHECK(open_block(keys.get(), sealed_block(nullptr, kFrames)).auth == AuthResult::missing_tag);
  CHECK(open_block(nullptr, sealed_block(nullptr, kFrames)).delivered());
  // An attacker without the key who strips the flags (and fixes the CRC) makes it a plain block.
  Bytes stripped = sealed_block(keyring(1, true).get(), kFrames);
  le::store<uint16_t>(stripped.data() + 0x06, 0);
  fix_block_crc(stripped);
  CHECK(open_block(keys.get(), stripped).auth == AuthResult::missing_tag);
  // Encryption claimed without authentication is no layout at all.
  Bytes bogus = sealed_block(nullptr, kFrames);
  le::store<uint16_t>(bogus.data() + 0x06, kBlockEncrypted);
  fix_block_crc(bogus);
  CHECK(decode_block(bogus, 4096).check == BlockCheck::unknown_flags);
}

TEST_CASE("another key's blocks are refused; a rollover keyring accepts both keys", "[auth]") {
  auto old_keys = keyring(1), new_keys = keyring(2, true);
  CHECK(old_keys->write_key_id() != new_keys->write_key_id());
  Bytes from_old = sealed_block(old_keys.get(), kFrames), from_new = sealed_block(new_keys.get(), kFrames);
  CHECK(open_block(new_keys.get(), from_old).auth == AuthResult::unknown_key);
  auto rolling = keyring(2, false, 1);  // seals with the new key, still accepts the old one
  CHECK(rolling->accept_key_id() == old_keys->write_key_id());
  CHECK(open_block(rolling.get(), from_old).frames == kFrames);
  CHECK(open_block(rolling.get(), from_new).frames == kFrames);  // and both modes
  // A key id forged onto a block sealed with an unknown key does not help: the tag still fails.
  Bytes forged = sealed_block(keyring(9).get(), kFrames);
  le::store<uint32_t>(forged.data() + 0x2C, old_keys->write_key_id());
  fix_block_crc(forged);
  CHECK(open_block(rolling.get(), forged).auth == AuthResult::bad_tag);
}

TEST_CASE("key ids are stable, differ between keys, and fresh keys are random", "[auth]") {
  CHECK(key_id_of(test_key(1)) == key_id_of(test_key(1)));
  CHECK(key_id_of(test_key(1)) != key_id_of(test_key(2)));
  SecretKey a = generate_key(), b = generate_key();
  CHECK(a.bytes != b.bytes);
  CHECK(keyring(1)->write_key_id() == key_id_of(test_key(1)));
}

TEST_CASE("an authenticated state record sits at its documented offsets and round-trips", "[auth][format]") {
  auto keys = keyring(1);
  auto bytes = sealed_record(keys.get());
  CHECK(le::u32(bytes.data() + 0x02C) == 1);
  CHECK(le::u32(bytes.data() + 0x250) == keys->write_key_id());
  CHECK(le::u32(bytes.data() + 0x254) == 0);
  CHECK(le::u64(bytes.data() + 0x258) == 0xAAAABBBBCCCCDDDDull);
  CHECK(le::u64(bytes.data() + 0x260) == 1234);
  CHECK(le::u32(bytes.data() + 0x278) == crc32c(std::span<const std::byte>(bytes).first(0x278)));
  for (size_t i = kAuthStateRecordBytes; i < bytes.size(); ++i) REQUIRE(bytes[i] == std::byte{0});
  auto d = decode_state_record(bytes);
  REQUIRE(d.error == DecodeError::none);
  REQUIRE(d.record.auth);
  CHECK(d.record.auth->peer_epoch == 0xAAAABBBBCCCCDDDDull);
  CHECK(d.record.auth->peer_heartbeat == 1234);
  CHECK(d.record.heartbeat == 41);
  CHECK(d.record.acks[0] == 77);
  CHECK(authenticate_state_record(keys.get(), bytes, d.record) == AuthResult::accepted);
  // Without keys the layout is the plain one, byte for byte as before.
  auto plain = sealed_record(nullptr);
  CHECK(le::u32(plain.data() + 0x02C) == 0);
  CHECK(le::u32(plain.data() + 0x250) == crc32c(std::span<const std::byte>(plain).first(0x250)));
  CHECK(!decode_state_record(plain).record.auth);
}

TEST_CASE("every single-bit change of an authenticated state record is refused, even with its CRC fixed",
          "[auth][format]") {
  auto keys = keyring(1);
  auto good = sealed_record(keys.get());
  REQUIRE(check_record(keys.get(), good) == AuthResult::accepted);
  for (size_t bit = 0; bit < 0x278 * 8; ++bit) {
    auto changed = good;
    changed[bit / 8] ^= std::byte(1u << (bit % 8));
    fix_state_crc(changed);
    auto d = decode_state_record(changed);
    INFO("bit " << bit << ": " << d.message);
    if (d.error != DecodeError::none) continue;  // refused before the tag: flags, magic, version
    REQUIRE(authenticate_state_record(keys.get(), changed, d.record) != AuthResult::accepted);
  }
}

TEST_CASE("state records with keys on one side only, or another key, are refused", "[auth]") {
  auto keys = keyring(1);
  CHECK(check_record(nullptr, sealed_record(keys.get())) == AuthResult::no_key);
  CHECK(check_record(keys.get(), sealed_record(nullptr)) == AuthResult::missing_tag);
  CHECK(check_record(keyring(2).get(), sealed_record(keys.get())) == AuthResult::unknown_key);
  CHECK(check_record(keyring(2, false, 1).get(), sealed_record(keys.get())) == AuthResult::accepted);
  // A record of another volume (or slot) keeps its tag only with its own UUID (or slot).
  auto moved = sealed_record(keys.get());
  std::memcpy(moved.data() + 0x010, kVolumeB.data(), kVolumeB.size());
  fix_state_crc(moved);
  CHECK(check_record(keys.get(), moved) == AuthResult::bad_tag);
}
