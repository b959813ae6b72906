// The on-volume format: superblock, state records and block headers. docs/FORMAT.md is the spec,
// byte by byte; this file and format.cpp are the only places that encode or decode those bytes.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace blockxport {

using Uuid = std::array<std::byte, 16>;

inline constexpr uint32_t kFormatVersion = 1;
inline constexpr uint32_t kMinBlockSize = 4096;
inline constexpr uint32_t kMaxBlockSize = 1u << 20;
inline constexpr uint32_t kMaxSlots = 64;
inline constexpr uint64_t kMinRingBlocks = 8;
inline constexpr uint64_t kStateTableOffset = 4096;
inline constexpr uint32_t kStateRecordStride = 4096;
inline constexpr size_t kLabelBytes = 64;

inline constexpr size_t kSuperblockBytes = 256;   // encoded length, CRC included
inline constexpr size_t kStateRecordBytes = 596;  // encoded length, CRC included (plain layout)
inline constexpr size_t kBlockHeaderBytes = 64;    // version 1; a version 2 header extends it
inline constexpr size_t kBlockHeaderV2Bytes = 80;  // version 2: destinations and a header CRC follow
inline constexpr size_t kRecordHeaderBytes = 8;

// Authentication (docs/FORMAT.md, "Authenticated and encrypted blocks"): a 16-byte tag closes an
// authenticated block's records, and an authenticated state record is longer than a plain one.
inline constexpr size_t kAuthTagBytes = 16;
inline constexpr size_t kAuthStateRecordBytes = 636;  // encoded length, CRC included

// State record version 2 (a shared LUN's slots): version 1's fields, then who owns the slot, and
// with keys one echo per slot (every node reads every other). Pair mode writes version 1 still,
// so a peer that knows only version 1 keeps reading it; readers take both.
inline constexpr uint32_t kStateRecordVersion1 = 1;
inline constexpr uint32_t kStateRecordVersion2 = 2;
inline constexpr size_t kOwnerNameBytes = 64;  // NUL-padded, at most 63 bytes
inline constexpr size_t kOwnerIfnameBytes = 16;
inline constexpr size_t kStateRecordV2Bytes = 692;
inline constexpr size_t kAuthStateRecordV2Bytes = 1740;
inline constexpr size_t kStateRecordMaxBytes = kAuthStateRecordV2Bytes;
using AuthTag = std::array<std::byte, kAuthTagBytes>;

// ---- Superblock (offset 0) ----

struct Superblock {
  uint32_t format_version = kFormatVersion;
  Uuid uuid{};
  uint32_t block_size = 0;
  uint32_t slot_count = 0;
  uint64_t ring_blocks = 0;
  uint64_t created_unix_ns = 0;
  std::string label;  // at most kLabelBytes - 1 bytes

  // Derived placement; never stored apart from the copy that decode checks.
  uint64_t rings_offset() const;
  uint64_t ring_offset(uint32_t slot) const;
  uint64_t block_offset(uint32_t slot, uint64_t sequence) const;
  uint64_t state_record_offset(uint32_t slot) const;
  uint64_t state_table_bytes() const;
  uint64_t required_volume_bytes() const;
  // The first 8 bytes of the UUID, stamped into every block so a block from another volume (or
  // from before a re-format) is never taken for one of ours.
  uint64_t volume_tag() const;
};

// Rings start at the first block-size boundary after the state table.
uint64_t rings_offset_for(uint32_t block_size, uint32_t slot_count);

void encode_superblock(const Superblock& sb, std::span<std::byte, kSuperblockBytes> out);

enum class DecodeError : uint8_t {
  none,
  all_zero,   // nothing was ever written here
  bad_magic,  // something else was written here
  bad_version,
  bad_checksum,
  bad_field,  // checksum fine, a field out of range (the message says which)
};

struct SuperblockDecode {
  DecodeError error = DecodeError::none;
  std::string message;  // one line: what is wrong, for the user
  Superblock superblock;
};
SuperblockDecode decode_superblock(std::span<const std::byte> in);

// ---- State record (one per slot, each in its own 4 KiB unit) ----

enum class WriterStatus : uint32_t { empty = 0, running = 1, clean_stop = 2 };

// The fields only an authenticated record has. Its MAC covers every byte before the tag; the
// echo proves the record was written after its author read ours, so an old record replayed by
// someone without the key never passes for a live peer.
struct StateEcho {
  uint64_t epoch = 0;      // the epoch of the last authentic record of that slot its author read
  uint64_t heartbeat = 0;  // that record's heartbeat
  bool operator==(const StateEcho&) const = default;
};

struct StateRecordAuth {
  uint32_t key_id = 0;
  // Version 1: one echo, of the one peer. Version 2: echoes[j] of writer slot j.
  uint64_t peer_epoch = 0;
  uint64_t peer_heartbeat = 0;
  std::array<StateEcho, kMaxSlots> echoes{};
  AuthTag tag{};  // keyed BLAKE2b-128; encoded as given (block_auth.cpp computes it)
};

struct StateRecord {
  uint32_t version = kStateRecordVersion1;
  uint32_t slot = 0;
  Uuid uuid{};
  uint64_t epoch = 0;
  WriterStatus status = WriterStatus::empty;
  uint64_t heartbeat = 0;
  uint64_t head_sequence = 0;  // every sequence below this one is on the volume
  uint64_t writer_monotonic_ns = 0;
  uint64_t epoch_first_sequence = 0;  // the first sequence this epoch wrote (restarts leave a gap)
  // acks[j]: the highest sequence this node has consumed from writer slot j of the volume it
  // reads (in a mirrored pair the peer writes slot 0 of its own volume, so acks[0]).
  std::array<uint64_t, kMaxSlots> acks{};
  // Version 2 only: who writes this slot, for people and for the slot claim (slot_claim.h).
  std::string owner;   // the node's name, at most kOwnerNameBytes - 1 bytes
  std::string ifname;  // its interface, at most kOwnerIfnameBytes - 1 bytes
  uint64_t started_unix_ns = 0;  // wall clock when the owner claimed the slot, for people only
  std::optional<StateRecordAuth> auth;  // set: the authenticated layout (flag bit 0)

  // What this record's author last read of writer slot `slot` (with keys): version 1 has one echo,
  // of its only peer, whatever the slot.
  StateEcho echo_of(uint32_t slot) const;
};

// Encodes the plain or, when record.auth is set, the authenticated layout, CRC last; `out` must
// hold state_record_bytes(record). Returns the encoded length.
size_t encode_state_record(const StateRecord& record, std::span<std::byte> out);
size_t state_record_bytes(const StateRecord& record);
// The bytes an authenticated record's tag covers: everything before the tag.
std::span<const std::byte> state_record_mac_input(std::span<const std::byte> encoded);

struct StateRecordDecode {
  DecodeError error = DecodeError::none;
  std::string message;
  StateRecord record;
};
StateRecordDecode decode_state_record(std::span<const std::byte> in);

// ---- Block header (first 64 bytes of every ring block, 80 in version 2) ----

// Version 1: what a mirrored pair writes. Version 2 (a shared LUN's blocks) adds a destination
// mask, so a node skips blocks that hold nothing for it, and a CRC of the header alone, so it can
// trust that mask from the first logical block without reading the rest. Readers take both.
inline constexpr uint16_t kBlockVersion1 = 1;
inline constexpr uint16_t kBlockVersion2 = 2;
inline constexpr uint64_t kAllDestinations = ~uint64_t{0};

enum BlockFlags : uint16_t {
  kBlockAuthenticated = 1u << 0,  // a tag follows the records, inside valid_bytes
  kBlockEncrypted = 1u << 1,      // the records are ciphertext (only with kBlockAuthenticated)
};

struct BlockHeader {
  uint16_t version = kBlockVersion1;
  uint16_t flags = 0;
  uint32_t slot = 0;
  uint32_t record_count = 0;
  uint64_t epoch = 0;
  uint64_t sequence = 0;
  uint64_t writer_timestamp_ns = 0;
  uint32_t valid_bytes = 0;  // header plus records; the rest of the block is zero padding
  uint64_t volume_tag = 0;
  uint32_t key_id = 0;  // authenticated blocks: which key sealed it; 0 otherwise
  // Version 2: bit j set when a frame in the block is for the node in slot j (all set: for every
  // node, as a broadcast or a destination not learned yet). Version 1 blocks are for everyone.
  uint64_t destinations = kAllDestinations;

  uint32_t header_bytes() const {
    return static_cast<uint32_t>(version >= kBlockVersion2 ? kBlockHeaderV2Bytes : kBlockHeaderBytes);
  }
  bool for_slot(uint32_t reader_slot) const {
    return reader_slot >= 64 || ((destinations >> reader_slot) & 1) != 0;
  }
  bool authenticated() const { return (flags & kBlockAuthenticated) != 0; }
  bool encrypted() const { return (flags & kBlockEncrypted) != 0; }
  // Where the records end: valid_bytes less the tag of an authenticated block.
  uint32_t records_end() const { return valid_bytes - (authenticated() ? uint32_t{kAuthTagBytes} : 0u); }
};

// Encodes the header into the first header_bytes() of `block` (version 2: with its header CRC)
// and the CRC over block[0, 0x3C) and block[64, valid_bytes): records (and an authenticated
// block's tag) must already be in place.
void seal_block(const BlockHeader& header, std::span<std::byte> block);
// The same in two steps, for authenticated blocks: the tag covers the encoded header, and the
// CRC covers the tag. finish_block reads valid_bytes from the encoded header.
void encode_block_header(const BlockHeader& header, std::span<std::byte> block);
// (A version 2 header's own CRC is recomputed too, so an edited block reseals whole.)
void finish_block(std::span<std::byte> block);
// What an authenticated block's tag covers besides its records: the header up to the CRC, and a
// version 2 header's extension past it.
std::span<const std::byte> block_mac_header(std::span<const std::byte> block);
std::span<const std::byte> block_header_extension(std::span<const std::byte> block, const BlockHeader& header);
// The records [header_bytes, records_end) and the tag [records_end, valid_bytes) of a decoded block.
std::span<std::byte> block_records(std::span<std::byte> block, const BlockHeader& header);
std::span<std::byte> block_tag(std::span<std::byte> block, const BlockHeader& header);

enum class BlockCheck : uint8_t {
  ok,
  empty,  // all-zero header: never written
  bad_magic,
  bad_version,
  need_more,      // header plausible, but valid_bytes goes past what was read: read the rest
  bad_checksum,   // torn or corrupt
  bad_length,     // valid_bytes out of range for this block size
  unknown_flags,  // flag bits this build does not know: a layout it cannot read
};

struct BlockDecode {
  BlockCheck check = BlockCheck::empty;
  BlockHeader header;
  // Version 2: the header's own CRC held, so its fields (destinations among them) are what the
  // writer wrote even when the check is need_more. Always true with `ok`.
  bool header_checked = false;
};
// `data` is what was read of the block (at least the first 64 bytes); `block_size` is the
// volume's. Checks structure and CRC only; which slot, epoch and sequence are acceptable is
// the reader's decision.
BlockDecode decode_block(std::span<const std::byte> data, uint32_t block_size);

// ---- Records inside a block ----

enum RecordFlags : uint16_t {
  kRecordFirst = 1u << 0,  // the frame starts in this record
  kRecordLast = 1u << 1,   // the frame ends in this record
};

struct RecordHeader {
  uint32_t length = 0;
  uint16_t flags = 0;
};
void encode_record_header(const RecordHeader& header, std::byte* out);
RecordHeader decode_record_header(const std::byte* in);

std::string_view decode_error_name(DecodeError error);
std::string_view block_check_name(BlockCheck check);
std::string format_uuid(const Uuid& uuid);

}  // namespace blockxport
