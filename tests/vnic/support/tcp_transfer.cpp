#include "tests/vnic/support/tcp_transfer.h"

#include "tests/vnic/support/netns.h"
#include "vnic/unique_fd.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <future>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>

namespace vnic::test {

namespace {

constexpr auto kSocketTimeout = std::chrono::seconds(5);
constexpr std::size_t kChunkBytes = 256 * 1024;

// Byte at stream offset k; 251 is prime so chunk boundaries never line up.
std::uint8_t pattern_byte(std::uint64_t offset) {
    return static_cast<std::uint8_t>(offset % 251);
}

[[noreturn]] void fail(const char* what) {
    throw std::runtime_error(fmt::format("{}: {}", what, std::strerror(errno)));
}

void set_timeouts(int fd) {
    timeval tv{};
    tv.tv_sec = std::chrono::duration_cast<std::chrono::seconds>(kSocketTimeout).count();
    if (::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
        ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0) {
        fail("setsockopt timeouts");
    }
}

sockaddr_in make_address(const std::string& ip, std::uint16_t port) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    if (::inet_pton(AF_INET, ip.c_str(), &address.sin_addr) != 1) {
        throw std::invalid_argument("bad IPv4 address " + ip);
    }
    return address;
}

bool wait_for(int fd, short events) {
    pollfd p{fd, events, 0};
    const int ms = static_cast<int>(std::chrono::milliseconds(kSocketTimeout).count());
    return ::poll(&p, 1, ms) == 1;
}

struct ServerOutcome {
    std::uint64_t received = 0;
    bool intact = true;
};

ServerOutcome serve_one(const UniqueFd& listener) {
    if (!wait_for(listener.get(), POLLIN)) {
        throw std::runtime_error("server: no connection within the timeout");
    }
    const UniqueFd conn(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!conn) {
        fail("server: accept");
    }
    set_timeouts(conn.get());
    ServerOutcome outcome;
    std::vector<std::uint8_t> buffer(kChunkBytes);
    for (;;) {
        const ssize_t n = ::recv(conn.get(), buffer.data(), buffer.size(), 0);
        if (n < 0) {
            fail("server: recv");
        }
        if (n == 0) {
            return outcome;
        }
        for (ssize_t i = 0; i < n && outcome.intact; ++i) {
            outcome.intact =
                buffer[static_cast<std::size_t>(i)] == pattern_byte(outcome.received + i);
        }
        outcome.received += static_cast<std::uint64_t>(n);
    }
}

std::uint64_t send_for(const std::string& server_ip, std::uint16_t port,
                       std::chrono::milliseconds duration) {
    const UniqueFd sock(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!sock) {
        fail("client: socket");
    }
    const sockaddr_in address = make_address(server_ip, port);
    if (::connect(sock.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0 &&
        errno != EINPROGRESS) {
        fail("client: connect");
    }
    if (!wait_for(sock.get(), POLLOUT)) {
        throw std::runtime_error("client: connect timed out");
    }
    int error = 0;
    socklen_t length = sizeof error;
    ::getsockopt(sock.get(), SOL_SOCKET, SO_ERROR, &error, &length);
    if (error != 0) {
        errno = error;
        fail("client: connect");
    }
    const int flags = ::fcntl(sock.get(), F_GETFL);
    ::fcntl(sock.get(), F_SETFL, flags & ~O_NONBLOCK);
    set_timeouts(sock.get());

    // The chunk repeats every 251 bytes, so one buffer at a rolling start serves all sends.
    std::vector<std::uint8_t> pattern(kChunkBytes + 251);
    for (std::size_t i = 0; i < pattern.size(); ++i) {
        pattern[i] = pattern_byte(i);
    }
    std::uint64_t sent = 0;
    const auto deadline = std::chrono::steady_clock::now() + duration;
    while (std::chrono::steady_clock::now() < deadline) {
        const ssize_t n =
            ::send(sock.get(), pattern.data() + sent % 251, kChunkBytes, MSG_NOSIGNAL);
        if (n < 0) {
            fail("client: send");
        }
        sent += static_cast<std::uint64_t>(n);
    }
    ::shutdown(sock.get(), SHUT_WR);
    // Wait for the server to close after reading everything.
    std::array<char, 16> scratch{};
    if (::recv(sock.get(), scratch.data(), scratch.size(), 0) < 0) {
        fail("client: waiting for server to finish");
    }
    return sent;
}

}  // namespace

TcpTransferResult tcp_transfer(const std::string& client_ns, const std::string& server_ns,
                               const std::string& server_ip, std::uint16_t port,
                               std::chrono::milliseconds duration) {
    TcpTransferResult result;
    try {
        // Listening before the client starts means no connect retry loop is needed.
        UniqueFd listener = in_netns(server_ns, [&] {
            UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
            if (!fd) {
                fail("server: socket");
            }
            const int one = 1;
            ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
            const sockaddr_in address = make_address(server_ip, port);
            if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) !=
                0) {
                fail("server: bind");
            }
            if (::listen(fd.get(), 1) != 0) {
                fail("server: listen");
            }
            return fd;
        });
        auto server = std::async(std::launch::async, [&] { return serve_one(listener); });
        const auto start = std::chrono::steady_clock::now();
        result.bytes_sent =
            in_netns(client_ns, [&] { return send_for(server_ip, port, duration); });
        const ServerOutcome outcome = server.get();
        result.seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        result.bytes_received = outcome.received;
        result.content_intact = outcome.intact;
    } catch (const std::exception& e) {
        result.error = e.what();
    }
    return result;
}

}  // namespace vnic::test
