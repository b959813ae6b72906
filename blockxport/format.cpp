#include "blockxport/format.h"

#include <uuid/uuid.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

#include "blockxport/crc32c.h"
#include "blockxport/format_offsets.h"
#include "blockxport/le.h"

namespace blockxport {
namespace {

using namespace offsets;

constexpr std::array<char, 8> kSuperblockMagic = {'V', 'N', 'I', 'C', 'S', 'U', 'P', 'R'};
constexpr std::array<char, 8> kStateMagic = {'V', 'N', 'I', 'C', 'S', 'T', 'A', 'T'};
constexpr uint32_t kBlockMagic = 0x4B424E56;  // "VNBK" as bytes on disk

static_assert(sb::crc + 4 == kSuperblockBytes);
static_assert(st::acks + 8 * kMaxSlots == st::crc && st::crc + 4 == kStateRecordBytes);
static_assert(st::tag + kAuthTagBytes == st::auth_crc && st::auth_crc + 4 == kAuthStateRecordBytes);
static_assert(st2::owner + kOwnerNameBytes == st2::ifname && st2::ifname + kOwnerIfnameBytes == st2::started);
static_assert(st2::crc + 4 == kStateRecordV2Bytes);
static_assert(st2::echoes + st2::echo_stride * kMaxSlots == st2::tag && st2::tag + kAuthTagBytes == st2::auth_crc &&
              st2::auth_crc + 4 == kAuthStateRecordV2Bytes);
static_assert(kStateRecordMaxBytes <= kStateRecordStride);
static_assert(bh::crc + 4 == kBlockHeaderBytes);
static_assert(bh::destinations == kBlockHeaderBytes && bh::header_crc + 4 == kBlockHeaderV2Bytes);

bool is_power_of_two(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

bool all_zero(std::span<const std::byte> bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](std::byte b) { return b == std::byte{0}; });
}

template <size_t N>
bool magic_matches(const std::byte* p, const std::array<char, N>& magic) {
  return std::memcmp(p, magic.data(), N) == 0;
}

uint32_t crc_of_prefix(std::span<const std::byte> in, size_t length) { return crc32c(in.first(length)); }

}  // namespace

uint64_t rings_offset_for(uint32_t block_size, uint32_t slot_count) {
  uint64_t end_of_state = kStateTableOffset + uint64_t{slot_count} * kStateRecordStride;
  return (end_of_state + block_size - 1) / block_size * block_size;
}

uint64_t Superblock::rings_offset() const { return rings_offset_for(block_size, slot_count); }
uint64_t Superblock::ring_offset(uint32_t slot) const {
  return rings_offset() + uint64_t{slot} * ring_blocks * block_size;
}
uint64_t Superblock::block_offset(uint32_t slot, uint64_t sequence) const {
  return ring_offset(slot) + (sequence % ring_blocks) * block_size;
}
uint64_t Superblock::state_record_offset(uint32_t slot) const {
  return kStateTableOffset + uint64_t{slot} * kStateRecordStride;
}
uint64_t Superblock::state_table_bytes() const { return uint64_t{slot_count} * kStateRecordStride; }
uint64_t Superblock::required_volume_bytes() const { return ring_offset(slot_count); }
uint64_t Superblock::volume_tag() const { return le::u64(uuid.data()); }

void encode_superblock(const Superblock& s, std::span<std::byte, kSuperblockBytes> out) {
  std::fill(out.begin(), out.end(), std::byte{0});
  std::byte* p = out.data();
  std::memcpy(p + sb::magic, kSuperblockMagic.data(), kSuperblockMagic.size());
  le::store<uint32_t>(p + sb::version, s.format_version);
  le::store<uint32_t>(p + sb::encoded_bytes, static_cast<uint32_t>(kSuperblockBytes));
  std::memcpy(p + sb::uuid, s.uuid.data(), s.uuid.size());
  le::store<uint32_t>(p + sb::block_size, s.block_size);
  le::store<uint32_t>(p + sb::slot_count, s.slot_count);
  le::store<uint64_t>(p + sb::ring_blocks, s.ring_blocks);
  le::store<uint64_t>(p + sb::state_table_offset, kStateTableOffset);
  le::store<uint32_t>(p + sb::state_stride, kStateRecordStride);
  le::store<uint64_t>(p + sb::rings_offset, s.rings_offset());
  le::store<uint64_t>(p + sb::created, s.created_unix_ns);
  std::memcpy(p + sb::label, s.label.data(), std::min(s.label.size(), kLabelBytes - 1));
  le::store<uint32_t>(p + sb::crc, crc_of_prefix(out, sb::crc));
}

SuperblockDecode decode_superblock(std::span<const std::byte> in) {
  SuperblockDecode result;
  auto fail = [&](DecodeError error, std::string message) {
    result.error = error;
    result.message = std::move(message);
    return result;
  };
  if (in.size() < kSuperblockBytes) return fail(DecodeError::bad_field, "superblock truncated");
  const std::byte* p = in.data();
  if (all_zero(in.first(kSuperblockBytes))) return fail(DecodeError::all_zero, "not formatted (all zeros)");
  if (!magic_matches(p + sb::magic, kSuperblockMagic))
    return fail(DecodeError::bad_magic, "not a vnic volume (bad superblock magic)");
  uint32_t version = le::u32(p + sb::version);
  if (version != kFormatVersion)
    return fail(
        DecodeError::bad_version,
        fmt::format("format version {} is not supported (this build reads version {})", version, kFormatVersion));
  uint32_t stored_crc = le::u32(p + sb::crc);
  uint32_t actual_crc = crc_of_prefix(in, sb::crc);
  if (stored_crc != actual_crc)
    return fail(DecodeError::bad_checksum,
                fmt::format("superblock checksum mismatch (stored {:08x}, computed {:08x})", stored_crc, actual_crc));

  Superblock& s = result.superblock;
  s.format_version = version;
  std::memcpy(s.uuid.data(), p + sb::uuid, s.uuid.size());
  s.block_size = le::u32(p + sb::block_size);
  s.slot_count = le::u32(p + sb::slot_count);
  s.ring_blocks = le::u64(p + sb::ring_blocks);
  s.created_unix_ns = le::u64(p + sb::created);
  const char* label = reinterpret_cast<const char*>(p + sb::label);
  s.label.assign(label, strnlen(label, kLabelBytes));

  if (le::u32(p + sb::encoded_bytes) != kSuperblockBytes)
    return fail(DecodeError::bad_field, "superblock length field is wrong");
  if (!is_power_of_two(s.block_size) || s.block_size < kMinBlockSize || s.block_size > kMaxBlockSize)
    return fail(DecodeError::bad_field, fmt::format("block size {} is not a power of two between {} and {}",
                                                    s.block_size, kMinBlockSize, kMaxBlockSize));
  if (s.slot_count < 1 || s.slot_count > kMaxSlots)
    return fail(DecodeError::bad_field, fmt::format("slot count {} is not between 1 and {}", s.slot_count, kMaxSlots));
  if (s.ring_blocks < kMinRingBlocks || s.ring_blocks > (uint64_t{1} << 40))
    return fail(DecodeError::bad_field, fmt::format("ring length {} blocks is out of range", s.ring_blocks));
  if (le::u64(p + sb::state_table_offset) != kStateTableOffset || le::u32(p + sb::state_stride) != kStateRecordStride)
    return fail(DecodeError::bad_field, "state table placement is not the one this version uses");
  if (le::u64(p + sb::rings_offset) != s.rings_offset())
    return fail(DecodeError::bad_field, "rings offset does not match block size and slot count");
  // Every offset is computed in 64 bits: a layout past 2^62 bytes would wrap and put one slot's
  // ring on another's, or on the superblock, and pass the volume size check besides.
  uint64_t ring_bytes = 0, all_rings = 0, end = 0;
  if (__builtin_mul_overflow(s.ring_blocks, uint64_t{s.block_size}, &ring_bytes) ||
      __builtin_mul_overflow(ring_bytes, uint64_t{s.slot_count}, &all_rings) ||
      __builtin_add_overflow(all_rings, s.rings_offset(), &end) || end > (uint64_t{1} << 62))
    return fail(DecodeError::bad_field,
                fmt::format("layout of {} slots x {} blocks x {} bytes is larger than any volume", s.slot_count,
                            s.ring_blocks, s.block_size));
  if (s.label.size() == kLabelBytes) return fail(DecodeError::bad_field, "label is not NUL-terminated");
  return result;
}

size_t state_record_bytes(const StateRecord& record) {
  if (record.version == kStateRecordVersion2) return record.auth ? kAuthStateRecordV2Bytes : kStateRecordV2Bytes;
  return record.auth ? kAuthStateRecordBytes : kStateRecordBytes;
}

StateEcho StateRecord::echo_of(uint32_t writer_slot) const {
  if (!auth) return {};
  if (version == kStateRecordVersion1) return {auth->peer_epoch, auth->peer_heartbeat};
  return writer_slot < kMaxSlots ? auth->echoes[writer_slot] : StateEcho{};
}

namespace {

// Where an encoded record's tag starts: the version and flags say which layout.
size_t state_tag_offset(std::span<const std::byte> encoded) {
  return le::u32(encoded.data() + st::version) == kStateRecordVersion2 ? st2::tag : st::tag;
}

void store_text(std::byte* at, const std::string& text, size_t field_bytes) {
  std::memcpy(at, text.data(), std::min(text.size(), field_bytes - 1));
}

std::optional<std::string> load_text(const std::byte* at, size_t field_bytes) {
  const char* text = reinterpret_cast<const char*>(at);
  size_t length = strnlen(text, field_bytes);
  if (length == field_bytes) return std::nullopt;  // not NUL-terminated
  // NUL padding only: bytes after the terminator are covered by the CRC but must be zero.
  for (size_t i = length; i < field_bytes; ++i)
    if (at[i] != std::byte{0}) return std::nullopt;
  return std::string(text, length);
}

}  // namespace

std::span<const std::byte> state_record_mac_input(std::span<const std::byte> encoded) {
  return encoded.first(state_tag_offset(encoded));
}

size_t encode_state_record(const StateRecord& r, std::span<std::byte> out) {
  if (r.version != kStateRecordVersion1 && r.version != kStateRecordVersion2)
    throw std::invalid_argument("state record version must be 1 or 2");
  size_t length = state_record_bytes(r);
  if (out.size() < length) throw std::invalid_argument("state record buffer too small");
  std::fill(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(length), std::byte{0});
  std::byte* p = out.data();
  std::memcpy(p + st::magic, kStateMagic.data(), kStateMagic.size());
  le::store<uint32_t>(p + st::version, r.version);
  le::store<uint32_t>(p + st::slot, r.slot);
  std::memcpy(p + st::uuid, r.uuid.data(), r.uuid.size());
  le::store<uint64_t>(p + st::epoch, r.epoch);
  le::store<uint32_t>(p + st::status, static_cast<uint32_t>(r.status));
  le::store<uint32_t>(p + st::flags, r.auth ? st::kFlagAuthenticated : 0);
  le::store<uint64_t>(p + st::heartbeat, r.heartbeat);
  le::store<uint64_t>(p + st::head, r.head_sequence);
  le::store<uint64_t>(p + st::monotonic, r.writer_monotonic_ns);
  le::store<uint64_t>(p + st::first_sequence, r.epoch_first_sequence);
  for (size_t j = 0; j < kMaxSlots; ++j) le::store<uint64_t>(p + st::acks + 8 * j, r.acks[j]);
  if (r.version == kStateRecordVersion2) {
    store_text(p + st2::owner, r.owner, kOwnerNameBytes);
    store_text(p + st2::ifname, r.ifname, kOwnerIfnameBytes);
    le::store<uint64_t>(p + st2::started, r.started_unix_ns);
    if (!r.auth) {
      le::store<uint32_t>(p + st2::crc, crc_of_prefix(out, st2::crc));
      return length;
    }
    le::store<uint32_t>(p + st2::key_id, r.auth->key_id);
    for (size_t j = 0; j < kMaxSlots; ++j) {
      le::store<uint64_t>(p + st2::echoes + st2::echo_stride * j, r.auth->echoes[j].epoch);
      le::store<uint64_t>(p + st2::echoes + st2::echo_stride * j + 8, r.auth->echoes[j].heartbeat);
    }
    std::memcpy(p + st2::tag, r.auth->tag.data(), kAuthTagBytes);
    le::store<uint32_t>(p + st2::auth_crc, crc_of_prefix(out, st2::auth_crc));
    return length;
  }
  if (!r.auth) {
    le::store<uint32_t>(p + st::crc, crc_of_prefix(out, st::crc));
    return length;
  }
  le::store<uint32_t>(p + st::key_id, r.auth->key_id);
  le::store<uint64_t>(p + st::peer_epoch, r.auth->peer_epoch);
  le::store<uint64_t>(p + st::peer_heartbeat, r.auth->peer_heartbeat);
  std::memcpy(p + st::tag, r.auth->tag.data(), kAuthTagBytes);
  le::store<uint32_t>(p + st::auth_crc, crc_of_prefix(out, st::auth_crc));
  return length;
}

StateRecordDecode decode_state_record(std::span<const std::byte> in) {
  StateRecordDecode result;
  auto fail = [&](DecodeError error, std::string message) {
    result.error = error;
    result.message = std::move(message);
    return result;
  };
  if (in.size() < kStateRecordBytes) return fail(DecodeError::bad_field, "state record truncated");
  const std::byte* p = in.data();
  if (all_zero(in.first(kStateRecordBytes))) return fail(DecodeError::all_zero, "state record never written");
  if (!magic_matches(p + st::magic, kStateMagic)) return fail(DecodeError::bad_magic, "bad state record magic");
  uint32_t version = le::u32(p + st::version);
  if (version != kStateRecordVersion1 && version != kStateRecordVersion2)
    return fail(DecodeError::bad_version, fmt::format("state record version {} is not supported", version));
  bool v2 = version == kStateRecordVersion2;
  // The version and flags say which layout, and so where the CRC is; a torn word fails that CRC.
  uint32_t flags = le::u32(p + st::flags);
  if ((flags & ~st::kFlagAuthenticated) != 0)
    return fail(DecodeError::bad_version, fmt::format("state record flags {:#x} are not supported", flags));
  bool authenticated = (flags & st::kFlagAuthenticated) != 0;
  size_t crc_at = v2 ? (authenticated ? st2::auth_crc : st2::crc) : (authenticated ? st::auth_crc : st::crc);
  if (in.size() < crc_at + 4) return fail(DecodeError::bad_field, "state record truncated");
  if (le::u32(p + crc_at) != crc_of_prefix(in, crc_at))
    return fail(DecodeError::bad_checksum, "state record checksum mismatch");
  StateRecord& r = result.record;
  r.version = version;
  if (authenticated) {
    StateRecordAuth& a = r.auth.emplace();
    if (v2) {
      a.key_id = le::u32(p + st2::key_id);
      for (size_t j = 0; j < kMaxSlots; ++j)
        a.echoes[j] = {le::u64(p + st2::echoes + st2::echo_stride * j),
                       le::u64(p + st2::echoes + st2::echo_stride * j + 8)};
      std::memcpy(a.tag.data(), p + st2::tag, kAuthTagBytes);
    } else {
      a.key_id = le::u32(p + st::key_id);
      a.peer_epoch = le::u64(p + st::peer_epoch);
      a.peer_heartbeat = le::u64(p + st::peer_heartbeat);
      std::memcpy(a.tag.data(), p + st::tag, kAuthTagBytes);
    }
  }
  r.slot = le::u32(p + st::slot);
  std::memcpy(r.uuid.data(), p + st::uuid, r.uuid.size());
  r.epoch = le::u64(p + st::epoch);
  uint32_t status = le::u32(p + st::status);
  r.heartbeat = le::u64(p + st::heartbeat);
  r.head_sequence = le::u64(p + st::head);
  r.writer_monotonic_ns = le::u64(p + st::monotonic);
  r.epoch_first_sequence = le::u64(p + st::first_sequence);
  for (size_t j = 0; j < kMaxSlots; ++j) r.acks[j] = le::u64(p + st::acks + 8 * j);
  if (status > static_cast<uint32_t>(WriterStatus::clean_stop))
    return fail(DecodeError::bad_field, fmt::format("state record status {} is unknown", status));
  r.status = static_cast<WriterStatus>(status);
  if (r.slot >= kMaxSlots)
    return fail(DecodeError::bad_field, fmt::format("state record slot {} out of range", r.slot));
  if (v2) {
    auto owner = load_text(p + st2::owner, kOwnerNameBytes);
    auto ifname = load_text(p + st2::ifname, kOwnerIfnameBytes);
    if (!owner) return fail(DecodeError::bad_field, "state record owner is not NUL-padded text");
    if (!ifname) return fail(DecodeError::bad_field, "state record interface is not NUL-padded text");
    r.owner = std::move(*owner);
    r.ifname = std::move(*ifname);
    r.started_unix_ns = le::u64(p + st2::started);
  }
  return result;
}

namespace {
// Version 2's header CRC: the header up to the block CRC, then the extension up to itself.
uint32_t block_header_crc(std::span<const std::byte> block) {
  return crc32c(block.subspan(bh::destinations, bh::header_crc - bh::destinations), crc32c(block.first(bh::crc)));
}
}  // namespace

void encode_block_header(const BlockHeader& h, std::span<std::byte> block) {
  std::byte* p = block.data();
  le::store<uint32_t>(p + bh::magic, kBlockMagic);
  if (h.version != kBlockVersion1 && h.version != kBlockVersion2)
    throw std::invalid_argument("block header version must be 1 or 2");
  le::store<uint16_t>(p + bh::version, h.version);
  le::store<uint16_t>(p + bh::flags, h.flags);
  le::store<uint32_t>(p + bh::slot, h.slot);
  le::store<uint32_t>(p + bh::record_count, h.record_count);
  le::store<uint64_t>(p + bh::epoch, h.epoch);
  le::store<uint64_t>(p + bh::sequence, h.sequence);
  le::store<uint64_t>(p + bh::timestamp, h.writer_timestamp_ns);
  le::store<uint32_t>(p + bh::valid_bytes, h.valid_bytes);
  le::store<uint32_t>(p + bh::key_id, h.key_id);
  le::store<uint64_t>(p + bh::volume_tag, h.volume_tag);
  le::store<uint32_t>(p + bh::reserved1, 0);
  if (h.version == kBlockVersion2) {
    le::store<uint64_t>(p + bh::destinations, h.destinations);
    le::store<uint32_t>(p + bh::reserved2, 0);
    le::store<uint32_t>(p + bh::header_crc, block_header_crc(block));
  }
}

void finish_block(std::span<std::byte> block) {
  uint32_t valid_bytes = le::u32(block.data() + bh::valid_bytes);
  // A version 2 header's own CRC too: the value encode_block_header wrote, unless the header
  // changed since (a tool or test resealing an edited block).
  if (le::u16(block.data() + bh::version) == kBlockVersion2 && block.size() >= kBlockHeaderV2Bytes)
    le::store<uint32_t>(block.data() + bh::header_crc, block_header_crc(block));
  uint32_t crc = crc32c(block.first(bh::crc));
  crc = crc32c(block.subspan(kBlockHeaderBytes, valid_bytes - kBlockHeaderBytes), crc);
  le::store<uint32_t>(block.data() + bh::crc, crc);
}

void seal_block(const BlockHeader& h, std::span<std::byte> block) {
  encode_block_header(h, block);
  finish_block(block);
}

std::span<const std::byte> block_mac_header(std::span<const std::byte> block) { return block.first(bh::crc); }

std::span<const std::byte> block_header_extension(std::span<const std::byte> block, const BlockHeader& h) {
  return block.subspan(kBlockHeaderBytes, h.header_bytes() - kBlockHeaderBytes);
}

std::span<std::byte> block_records(std::span<std::byte> block, const BlockHeader& h) {
  return block.subspan(h.header_bytes(), h.records_end() - h.header_bytes());
}

std::span<std::byte> block_tag(std::span<std::byte> block, const BlockHeader& h) {
  return block.subspan(h.records_end(), h.valid_bytes - h.records_end());
}

BlockDecode decode_block(std::span<const std::byte> data, uint32_t block_size) {
  BlockDecode result;
  if (data.size() < kBlockHeaderBytes) {
    result.check = BlockCheck::need_more;
    return result;
  }
  const std::byte* p = data.data();
  uint32_t magic = le::u32(p + bh::magic);
  if (magic != kBlockMagic) {
    result.check = all_zero(data.first(kBlockHeaderBytes)) ? BlockCheck::empty : BlockCheck::bad_magic;
    return result;
  }
  BlockHeader& h = result.header;
  h.version = le::u16(p + bh::version);
  if (h.version != kBlockVersion1 && h.version != kBlockVersion2) {
    result.check = BlockCheck::bad_version;
    return result;
  }
  if (data.size() < h.header_bytes()) {
    result.check = BlockCheck::need_more;
    return result;
  }
  h.flags = le::u16(p + bh::flags);
  // Unknown bits, or encryption without the tag that authenticates it: not a layout we can read.
  if ((h.flags & ~bh::kKnownFlags) != 0 || (h.encrypted() && !h.authenticated())) {
    result.check = BlockCheck::unknown_flags;
    return result;
  }
  h.slot = le::u32(p + bh::slot);
  h.record_count = le::u32(p + bh::record_count);
  h.epoch = le::u64(p + bh::epoch);
  h.sequence = le::u64(p + bh::sequence);
  h.writer_timestamp_ns = le::u64(p + bh::timestamp);
  h.valid_bytes = le::u32(p + bh::valid_bytes);
  h.volume_tag = le::u64(p + bh::volume_tag);
  h.key_id = le::u32(p + bh::key_id);
  uint32_t least = static_cast<uint32_t>(h.header_bytes() + (h.authenticated() ? kAuthTagBytes : 0));
  if (h.valid_bytes < least || h.valid_bytes > block_size) {
    // Cannot trust valid_bytes to size a CRC; a torn header looks like this too.
    result.check = BlockCheck::bad_length;
    return result;
  }
  if (h.version == kBlockVersion2) {
    if (le::u32(p + bh::header_crc) != block_header_crc(data)) {
      result.check = BlockCheck::bad_checksum;  // a torn or corrupt header
      return result;
    }
    h.destinations = le::u64(p + bh::destinations);
    result.header_checked = true;
  }
  if (h.valid_bytes > data.size()) {
    result.check = BlockCheck::need_more;
    return result;
  }
  uint32_t crc = crc32c(data.first(bh::crc));
  crc = crc32c(data.subspan(kBlockHeaderBytes, h.valid_bytes - kBlockHeaderBytes), crc);
  result.check = crc == le::u32(p + bh::crc) ? BlockCheck::ok : BlockCheck::bad_checksum;
  return result;
}

void encode_record_header(const RecordHeader& h, std::byte* out) {
  le::store<uint32_t>(out, h.length);
  le::store<uint16_t>(out + 4, h.flags);
  le::store<uint16_t>(out + 6, 0);
}

RecordHeader decode_record_header(const std::byte* in) { return RecordHeader{le::u32(in), le::u16(in + 4)}; }

std::string_view decode_error_name(DecodeError error) {
  switch (error) {
    case DecodeError::none:
      return "ok";
    case DecodeError::all_zero:
      return "all zero";
    case DecodeError::bad_magic:
      return "bad magic";
    case DecodeError::bad_version:
      return "unsupported version";
    case DecodeError::bad_checksum:
      return "checksum mismatch";
    case DecodeError::bad_field:
      return "bad field";
  }
  return "unknown";
}

std::string_view block_check_name(BlockCheck check) {
  switch (check) {
    case BlockCheck::ok:
      return "ok";
    case BlockCheck::empty:
      return "empty";
    case BlockCheck::bad_magic:
      return "bad magic";
    case BlockCheck::bad_version:
      return "unsupported version";
    case BlockCheck::need_more:
      return "need more";
    case BlockCheck::bad_checksum:
      return "checksum mismatch";
    case BlockCheck::bad_length:
      return "bad length";
    case BlockCheck::unknown_flags:
      return "unknown flags";
  }
  return "unknown";
}

std::string format_uuid(const Uuid& uuid) {
  uuid_t raw;
  std::memcpy(raw, uuid.data(), sizeof(raw));
  char text[37];
  uuid_unparse_lower(raw, text);
  return text;
}

}  // namespace blockxport
