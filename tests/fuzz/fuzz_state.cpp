// libFuzzer target: arbitrary bytes as a state record, the structure a node reads from its peer
// every few milliseconds. Decoded raw, then with the CRC recomputed for each layout (versions 1
// and 2, plain and authenticated) so the checks behind the CRC are reached; whatever decodes must survive an
// encode/decode round trip unchanged.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>

#include "blockxport/format.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using namespace blockxport;
using vnic_fuzz::require;

bool same_record(const StateRecord& a, const StateRecord& b) {
  bool auth_same = a.auth.has_value() == b.auth.has_value();
  if (auth_same && a.auth)
    auth_same = a.auth->key_id == b.auth->key_id && a.auth->peer_epoch == b.auth->peer_epoch &&
                a.auth->peer_heartbeat == b.auth->peer_heartbeat && a.auth->echoes == b.auth->echoes &&
                a.auth->tag == b.auth->tag;
  return auth_same && a.version == b.version && a.owner == b.owner && a.ifname == b.ifname &&
         a.started_unix_ns == b.started_unix_ns && a.slot == b.slot && a.uuid == b.uuid && a.epoch == b.epoch && a.status == b.status &&
         a.heartbeat == b.heartbeat && a.head_sequence == b.head_sequence &&
         a.writer_monotonic_ns == b.writer_monotonic_ns && a.epoch_first_sequence == b.epoch_first_sequence &&
         a.acks == b.acks;
}

void check(std::span<const std::byte> bytes) {
  StateRecordDecode d = decode_state_record(bytes);
  if (d.error != DecodeError::none) {
    require(!d.message.empty());  // every refusal is explained to the admin
    return;
  }
  const StateRecord& r = d.record;
  require(r.slot < kMaxSlots);
  require(r.status == WriterStatus::empty || r.status == WriterStatus::running || r.status == WriterStatus::clean_stop);
  std::array<std::byte, kStateRecordMaxBytes> encoded{};
  size_t length = encode_state_record(r, encoded);
  require(length == state_record_bytes(r) && length <= bytes.size());
  StateRecordDecode again = decode_state_record(std::span<const std::byte>(encoded).first(length));
  require(again.error == DecodeError::none && same_record(again.record, r));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto bytes = std::span(reinterpret_cast<const std::byte*>(data), size);
  check(bytes);
  for (size_t layout : {kStateRecordBytes, kAuthStateRecordBytes, kStateRecordV2Bytes, kAuthStateRecordV2Bytes}) {
    std::array<std::byte, kStateRecordMaxBytes> fixed{};
    std::copy_n(bytes.begin(), std::min(size, layout), fixed.begin());
    vnic_fuzz::reseal_crc_last(std::span<std::byte>(fixed).first(layout));
    check(std::span<const std::byte>(fixed).first(layout));
  }
  return 0;
}
