#include "tests/vnic/support/netns.h"

#include "tools/common/child_process.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <stdexcept>

#include <fmt/format.h>

namespace vnic::test {

namespace {

constexpr std::string_view kPrefix = "vnict-";
constexpr const char* kNetnsDir = "/var/run/netns";

bool has_effective_capability(int capability) {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("CapEff:", 0) == 0) {
            const unsigned long long mask = std::stoull(line.substr(7), nullptr, 16);
            return (mask >> capability) & 1U;
        }
    }
    return false;
}

// True when the command ran and exited 0; never throws (destructors and probes use it).
bool runs(const std::vector<std::string>& argv) {
    try {
        vnic_tools::CaptureOptions options;
        options.timeout = std::chrono::seconds(10);
        return vnic_tools::run_captured(argv, options).ok();
    } catch (const std::exception&) {
        return false;
    }
}

void remove_netns(const std::string& name) { runs({"ip", "netns", "del", name}); }

// A namespace of a process that no longer exists was leaked by a run that
// was killed before its guards could clean up.
void sweep_leaked_namespaces() {
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(kNetnsDir, ec)) {
        const std::string name = entry.path().filename().string();
        if (name.rfind(kPrefix, 0) != 0) {
            continue;
        }
        const std::string_view rest = std::string_view(name).substr(kPrefix.size());
        int pid = 0;
        const auto [end, err] = std::from_chars(rest.data(), rest.data() + rest.size(), pid);
        if (err != std::errc{} || pid <= 0) {
            continue;
        }
        if (::kill(pid, 0) != 0 && errno == ESRCH) {
            remove_netns(name);
        }
    }
}

}  // namespace

std::optional<std::string> missing_privileges() {
    constexpr int kCapNetAdmin = 12;
    constexpr int kCapSysAdmin = 21;
    if (::access("/dev/net/tun", R_OK | W_OK) != 0) {
        return fmt::format("/dev/net/tun not usable: {}", std::strerror(errno));
    }
    if (!has_effective_capability(kCapNetAdmin)) {
        return std::string("CAP_NET_ADMIN missing");
    }
    if (!has_effective_capability(kCapSysAdmin)) {
        return std::string("CAP_SYS_ADMIN missing (needed for network namespaces)");
    }
    if (!runs({"ip", "-V"})) {
        return std::string("iproute2 `ip` not runnable");
    }
    return std::nullopt;
}

ScopedNetns::ScopedNetns() {
    static std::once_flag swept;
    std::call_once(swept, sweep_leaked_namespaces);
    static std::atomic<int> counter{0};
    name_ = fmt::format("{}{}-{}", kPrefix, ::getpid(), counter++);
    vnic_tools::run_checked({"ip", "netns", "add", name_});
}

ScopedNetns::~ScopedNetns() {
    remove_netns(name_);
}

void enter_netns(const std::string& name) {
    const std::string path = fmt::format("{}/{}", kNetnsDir, name);
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        throw std::runtime_error(fmt::format("open {}: {}", path, std::strerror(errno)));
    }
    const int rc = ::setns(fd, CLONE_NEWNET);
    const int err = errno;
    ::close(fd);
    if (rc != 0) {
        throw std::runtime_error(fmt::format("setns {}: {}", name, std::strerror(err)));
    }
}

}  // namespace vnic::test
