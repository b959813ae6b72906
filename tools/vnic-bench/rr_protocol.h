// The request/response test's datagram: 64 bytes (netperf UDP_RR's smallest useful size, and the
// size of a heartbeat), a magic, and the request's sequence number. The server echoes it as it
// came, so the client can match each answer to its request and drop stale ones.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace vnic_bench {

inline constexpr size_t kRrMessageBytes = 64;
inline constexpr uint16_t kDefaultRrPort = 7700;  // the iperf3 server listens on the next port

using RrMessage = std::array<std::byte, kRrMessageBytes>;

RrMessage make_rr_request(uint64_t sequence);

// The sequence number of a well-formed message (right size and magic); nullopt for anything else.
std::optional<uint64_t> rr_sequence_of(std::span<const std::byte> datagram);

}  // namespace vnic_bench
