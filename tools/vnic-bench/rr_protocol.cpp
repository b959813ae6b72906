#include "tools/vnic-bench/rr_protocol.h"

#include <cstring>

namespace vnic_bench {
namespace {

constexpr std::array<std::byte, 8> kMagic = {std::byte{'v'}, std::byte{'n'}, std::byte{'i'}, std::byte{'c'},
                                             std::byte{'-'}, std::byte{'r'}, std::byte{'r'}, std::byte{'1'}};

}  // namespace

RrMessage make_rr_request(uint64_t sequence) {
  RrMessage message{};
  std::memcpy(message.data(), kMagic.data(), kMagic.size());
  std::memcpy(message.data() + kMagic.size(), &sequence, sizeof(sequence));
  return message;
}

std::optional<uint64_t> rr_sequence_of(std::span<const std::byte> datagram) {
  if (datagram.size() != kRrMessageBytes || std::memcmp(datagram.data(), kMagic.data(), kMagic.size()) != 0)
    return std::nullopt;
  uint64_t sequence = 0;
  std::memcpy(&sequence, datagram.data() + kMagic.size(), sizeof(sequence));
  return sequence;
}

}  // namespace vnic_bench
