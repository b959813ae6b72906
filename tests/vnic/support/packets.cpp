#include "tests/vnic/support/packets.h"

#include <arpa/inet.h>

#include <stdexcept>
#include <string>

namespace vnic::test {

namespace {

constexpr std::size_t kEthernetHeader = 14;
constexpr std::size_t kIpv4Header = 20;
constexpr std::size_t kIcmpHeader = 8;

class FrameWriter {
public:
    void u8(std::uint8_t v) { bytes_.push_back(static_cast<std::byte>(v)); }
    void u16(std::uint16_t v) {
        u8(static_cast<std::uint8_t>(v >> 8));
        u8(static_cast<std::uint8_t>(v & 0xff));
    }
    void mac(const MacAddress& m) {
        for (const std::uint8_t b : m.bytes()) {
            u8(b);
        }
    }
    void ip(Ipv4 a) {
        for (const std::uint8_t b : a) {
            u8(b);
        }
    }
    void zeros(std::size_t n) { bytes_.resize(bytes_.size() + n); }
    std::size_t size() const { return bytes_.size(); }
    void put_u16_at(std::size_t at, std::uint16_t v) {
        bytes_[at] = static_cast<std::byte>(v >> 8);
        bytes_[at + 1] = static_cast<std::byte>(v & 0xff);
    }
    std::span<const std::byte> range(std::size_t from, std::size_t length) const {
        return std::span(bytes_).subspan(from, length);
    }
    std::vector<std::byte> take() { return std::move(bytes_); }

private:
    std::vector<std::byte> bytes_;
};

std::uint8_t at8(std::span<const std::byte> frame, std::size_t at) {
    return std::to_integer<std::uint8_t>(frame[at]);
}
std::uint16_t at16(std::span<const std::byte> frame, std::size_t at) {
    return static_cast<std::uint16_t>((at8(frame, at) << 8) | at8(frame, at + 1));
}
MacAddress mac_at(std::span<const std::byte> frame, std::size_t at) {
    MacAddress::Bytes bytes{};
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        bytes[i] = at8(frame, at + i);
    }
    return MacAddress(bytes);
}
Ipv4 ip_at(std::span<const std::byte> frame, std::size_t at) {
    return {at8(frame, at), at8(frame, at + 1), at8(frame, at + 2), at8(frame, at + 3)};
}

// RFC 1071 ones' complement sum; a correct packet sums to zero.
std::uint16_t internet_checksum(std::span<const std::byte> data) {
    std::uint32_t sum = 0;
    for (std::size_t i = 0; i + 1 < data.size(); i += 2) {
        sum += static_cast<std::uint32_t>(at16(data, i));
    }
    if (data.size() % 2 != 0) {
        sum += static_cast<std::uint32_t>(at8(data, data.size() - 1)) << 8;
    }
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return static_cast<std::uint16_t>(~sum & 0xffff);
}

}  // namespace

Ipv4 ipv4(const char* dotted) {
    Ipv4 address{};
    if (::inet_pton(AF_INET, dotted, address.data()) != 1) {
        throw std::invalid_argument(std::string("not an IPv4 address: ") + dotted);
    }
    return address;
}

std::vector<std::byte> arp_request(const MacAddress& sender_mac, Ipv4 sender_ip, Ipv4 target_ip) {
    FrameWriter w;
    w.mac(MacAddress({0xff, 0xff, 0xff, 0xff, 0xff, 0xff}));
    w.mac(sender_mac);
    w.u16(kEtherTypeArp);
    w.u16(1);       // hardware: Ethernet
    w.u16(0x0800);  // protocol: IPv4
    w.u8(6);
    w.u8(4);
    w.u16(1);  // request
    w.mac(sender_mac);
    w.ip(sender_ip);
    w.mac(MacAddress{});
    w.ip(target_ip);
    w.zeros(60 - w.size());  // minimum Ethernet payload, as a real NIC pads
    return w.take();
}

std::vector<std::byte> icmp_echo_request(const MacAddress& src_mac, const MacAddress& dst_mac,
                                         Ipv4 src_ip, Ipv4 dst_ip, std::uint16_t id,
                                         std::uint16_t sequence, std::size_t payload_bytes) {
    FrameWriter w;
    w.mac(dst_mac);
    w.mac(src_mac);
    w.u16(kEtherTypeIpv4);
    const std::size_t ip_start = w.size();
    w.u8(0x45);
    w.u8(0);
    w.u16(static_cast<std::uint16_t>(kIpv4Header + kIcmpHeader + payload_bytes));
    w.u16(sequence);  // identification
    w.u16(0x4000);    // don't fragment
    w.u8(64);         // TTL
    w.u8(1);          // ICMP
    w.u16(0);         // checksum, filled below
    w.ip(src_ip);
    w.ip(dst_ip);
    w.put_u16_at(ip_start + 10, internet_checksum(w.range(ip_start, kIpv4Header)));
    const std::size_t icmp_start = w.size();
    w.u8(8);  // echo request
    w.u8(0);
    w.u16(0);
    w.u16(id);
    w.u16(sequence);
    for (std::size_t i = 0; i < payload_bytes; ++i) {
        w.u8(static_cast<std::uint8_t>(i));
    }
    w.put_u16_at(icmp_start + 2,
                 internet_checksum(w.range(icmp_start, kIcmpHeader + payload_bytes)));
    return w.take();
}

std::uint16_t ether_type(std::span<const std::byte> frame) {
    return frame.size() < kEthernetHeader ? 0 : at16(frame, 12);
}

MacAddress source_mac(std::span<const std::byte> frame) {
    return frame.size() < kEthernetHeader ? MacAddress{} : mac_at(frame, 6);
}

std::optional<ArpReply> parse_arp_reply(std::span<const std::byte> frame) {
    if (frame.size() < kEthernetHeader + 28 || ether_type(frame) != kEtherTypeArp ||
        at16(frame, kEthernetHeader + 6) != 2) {
        return std::nullopt;
    }
    const std::size_t arp = kEthernetHeader;
    return ArpReply{mac_at(frame, arp + 8), ip_at(frame, arp + 14), mac_at(frame, arp + 18),
                    ip_at(frame, arp + 24)};
}

std::optional<IcmpEchoReply> parse_icmp_echo_reply(std::span<const std::byte> frame) {
    if (frame.size() < kEthernetHeader + kIpv4Header + kIcmpHeader ||
        ether_type(frame) != kEtherTypeIpv4) {
        return std::nullopt;
    }
    const std::size_t ip = kEthernetHeader;
    const std::size_t ip_header = (at8(frame, ip) & 0x0f) * 4U;
    const std::size_t total = at16(frame, ip + 2);
    if (at8(frame, ip + 9) != 1 || total > frame.size() - ip || total < ip_header + kIcmpHeader) {
        return std::nullopt;
    }
    const std::size_t icmp = ip + ip_header;
    if (at8(frame, icmp) != 0) {
        return std::nullopt;
    }
    const bool checksums_ok = internet_checksum(frame.subspan(ip, ip_header)) == 0 &&
                              internet_checksum(frame.subspan(icmp, total - ip_header)) == 0;
    return IcmpEchoReply{ip_at(frame, ip + 12), ip_at(frame, ip + 16), at16(frame, icmp + 4),
                         at16(frame, icmp + 6), checksums_ok};
}

}  // namespace vnic::test
