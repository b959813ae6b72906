// A UDP peer for end-to-end tests: `send` numbers datagrams and checksums their payload; `recv`
// checks every one and reports, as JSON, how many arrived, were corrupt, duplicated, reordered or
// missing.
//   udp_probe send HOST PORT COUNT SIZE PPS [MAX_SIZE [SEED]]   (sizes uniform in SIZE..MAX_SIZE)
//   udp_probe recv PORT COUNT IDLE_MS [FIRST_MS]   (gives up after IDLE_MS without a datagram, or
//     FIRST_MS before the first one: senders started one by one on a loaded machine start late)
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <random>
#include <thread>
#include <vector>

#include "blockxport/crc32c.h"

namespace {

constexpr size_t kHeader = 12;  // u64 sequence, u32 crc32c of the rest

void fill(std::vector<std::byte>& buf, uint64_t seq) {
  std::memcpy(buf.data(), &seq, 8);
  uint64_t x = seq * 0x9E3779B97F4A7C15ull + 7;
  for (size_t i = kHeader; i < buf.size(); ++i) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    buf[i] = std::byte(x >> 56);
  }
  uint32_t crc = blockxport::crc32c(std::span(buf).subspan(kHeader));
  crc = blockxport::crc32c(std::span(buf).first(8), crc);
  std::memcpy(buf.data() + 8, &crc, 4);
}

int do_send(const char* host, int port, uint64_t count, size_t size, uint64_t pps, size_t max_size, uint64_t seed) {
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host, &to.sin_addr) != 1) return 2;
  max_size = std::max(max_size, size);
  std::mt19937_64 rng(seed);
  std::vector<std::byte> buf(std::max(size, kHeader));
  auto start = std::chrono::steady_clock::now();
  for (uint64_t seq = 0; seq < count; ++seq) {
    if (max_size > size) buf.resize(std::max(kHeader, size + rng() % (max_size - size + 1)));
    fill(buf, seq);
    if (pps > 0) {
      auto due = start + std::chrono::nanoseconds(seq * 1'000'000'000ull / pps);
      std::this_thread::sleep_until(due);
    }
    // Never block: a link without carrier holds datagrams in its qdisc and would stall us.
    for (int attempt = 0;; ++attempt) {
      if (::sendto(fd, buf.data(), buf.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&to), sizeof(to)) >= 0) break;
      if ((errno != ENOBUFS && errno != EAGAIN) || attempt == 1000) {
        std::fprintf(stderr, "sendto datagram %llu: %s\n", static_cast<unsigned long long>(seq), std::strerror(errno));
        return 1;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
  }
  std::printf("{\"sent\": %llu}\n", static_cast<unsigned long long>(count));
  return 0;
}

int do_recv(int port, uint64_t count, int idle_ms, int first_ms) {
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  int big = 16 << 20;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
  sockaddr_in at{};
  at.sin_family = AF_INET;
  at.sin_port = htons(static_cast<uint16_t>(port));
  if (::bind(fd, reinterpret_cast<sockaddr*>(&at), sizeof(at)) != 0) {
    std::perror("bind");
    return 1;
  }
  std::fprintf(stderr, "listening\n");
  std::vector<bool> seen(count, false);
  std::vector<std::byte> buf(70000);
  uint64_t received = 0, corrupt = 0, duplicates = 0, reordered = 0, highest = 0;
  bool any = false;
  while (received < count) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, any ? idle_ms : first_ms) <= 0) break;
    ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n < static_cast<ssize_t>(kHeader)) {
      ++corrupt;
      continue;
    }
    uint64_t seq;
    uint32_t crc;
    std::memcpy(&seq, buf.data(), 8);
    std::memcpy(&crc, buf.data() + 8, 4);
    auto payload = std::span(buf).first(static_cast<size_t>(n));
    uint32_t actual = blockxport::crc32c(payload.subspan(kHeader));
    actual = blockxport::crc32c(payload.first(8), actual);
    if (actual != crc || seq >= count) {
      ++corrupt;
      continue;
    }
    if (seen[seq]) {
      ++duplicates;
      continue;
    }
    seen[seq] = true;
    ++received;
    if (any && seq < highest) ++reordered;
    if (!any || seq > highest) highest = seq;
    any = true;
  }
  std::printf("{\"received\": %llu, \"corrupt\": %llu, \"duplicates\": %llu, \"reordered\": %llu, \"missing\": %llu}\n",
              static_cast<unsigned long long>(received), static_cast<unsigned long long>(corrupt),
              static_cast<unsigned long long>(duplicates), static_cast<unsigned long long>(reordered),
              static_cast<unsigned long long>(count - received));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 7 && argc <= 9 && std::strcmp(argv[1], "send") == 0)
    return do_send(argv[2], std::atoi(argv[3]), std::strtoull(argv[4], nullptr, 10),
                   std::strtoull(argv[5], nullptr, 10), std::strtoull(argv[6], nullptr, 10),
                   argc >= 8 ? std::strtoull(argv[7], nullptr, 10) : 0,
                   argc >= 9 ? std::strtoull(argv[8], nullptr, 10) : 1);
  if ((argc == 5 || argc == 6) && std::strcmp(argv[1], "recv") == 0)
    return do_recv(std::atoi(argv[2]), std::strtoull(argv[3], nullptr, 10), std::atoi(argv[4]),
                   std::atoi(argv[argc == 6 ? 5 : 4]));
  std::fprintf(stderr,
               "usage: udp_probe send HOST PORT COUNT SIZE PPS [MAX_SIZE [SEED]] | recv PORT COUNT IDLE_MS [FIRST_MS]\n");
  return 2;
}
