// The on-volume field offsets of docs/FORMAT.md, in one table that format.cpp encodes and
// decodes with and that the tests check encoded bytes against (never hex literals of their own).
#pragma once

#include <cstddef>
#include <cstdint>

#include "blockxport/format.h"

namespace blockxport::offsets {

// Superblock field offsets (docs/FORMAT.md, "Superblock").
namespace sb {
constexpr size_t magic = 0x000, version = 0x008, encoded_bytes = 0x00C, uuid = 0x010, block_size = 0x020,
                 slot_count = 0x024, ring_blocks = 0x028, state_table_offset = 0x030, state_stride = 0x038,
                 reserved0 = 0x03C, rings_offset = 0x040, created = 0x048, label = 0x050, crc = 0x0FC;
}  // namespace sb

// State record field offsets (docs/FORMAT.md, "State record").
namespace st {
constexpr size_t magic = 0x000, version = 0x008, slot = 0x00C, uuid = 0x010, epoch = 0x020, status = 0x028,
                 flags = 0x02C, heartbeat = 0x030, head = 0x038, monotonic = 0x040, first_sequence = 0x048,
                 acks = 0x050, crc = 0x250;
// The authenticated layout (flags bit 0) continues where the plain one has its CRC.
constexpr size_t key_id = 0x250, reserved1 = 0x254, peer_epoch = 0x258, peer_heartbeat = 0x260, tag = 0x268,
                 auth_crc = 0x278;
constexpr uint32_t kFlagAuthenticated = 1u << 0;
}  // namespace st

// State record version 2 (docs/FORMAT.md, "State record, version 2"): version 1's fields up to
// the acks, then the owner, then (authenticated) one echo per slot.
namespace st2 {
constexpr size_t owner = 0x250, ifname = 0x290, started = 0x2A0, reserved1 = 0x2A8, crc = 0x2B0;
constexpr size_t key_id = 0x2B0, reserved2 = 0x2B4, echoes = 0x2B8, echo_stride = 16, tag = 0x6B8, auth_crc = 0x6C8;
}  // namespace st2

// Block header field offsets (docs/FORMAT.md, "Block").
namespace bh {
constexpr size_t magic = 0x00, version = 0x04, flags = 0x06, slot = 0x08, record_count = 0x0C, epoch = 0x10,
                 sequence = 0x18, timestamp = 0x20, valid_bytes = 0x28, key_id = 0x2C, volume_tag = 0x30,
                 reserved1 = 0x38, crc = 0x3C;
// Version 2's extension, after the block CRC (which covers it, as it covers the records), with
// the header's own CRC last.
constexpr size_t destinations = 0x40, reserved2 = 0x48, header_crc = 0x4C;
constexpr uint16_t kKnownFlags = kBlockAuthenticated | kBlockEncrypted;
}  // namespace bh

}  // namespace blockxport::offsets
