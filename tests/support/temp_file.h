// Test fixtures for volumes: a fully allocated scratch file, and a loop device over one.
#pragma once

#include <fcntl.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace vnic_test {

inline std::string errno_text(int error, std::string_view what) {
  return std::string(what) + ": " + std::strerror(error);
}

// A scratch file of exactly `size_bytes` zero bytes. It lives under $VNIC_TEST_DIR or /var/tmp,
// not /tmp: the engines must be tested on a real disk filesystem, and O_DIRECT on tmpfs makes
// io_uring punt every request to a worker thread. The zeros are written rather than fallocated
// so that direct writes never hit unwritten extents, and the page cache is dropped so the first
// O_DIRECT access does not have to flush it.
class TempFile {
 public:
  explicit TempFile(uint64_t size_bytes, std::string_view stem = "vol") {
    const char* dir = std::getenv("VNIC_TEST_DIR");
    std::string pattern =
        std::string(dir != nullptr && *dir != '\0' ? dir : "/var/tmp") + "/vnic-test-" + std::string(stem) + "-XXXXXX";
    std::vector<char> name(pattern.begin(), pattern.end());
    name.push_back('\0');
    int fd = ::mkstemp(name.data());
    if (fd < 0) {
      int error = errno;
      throw std::runtime_error(errno_text(error, "mkstemp " + pattern));
    }
    path_ = name.data();
    try {
      std::vector<char> zeros(std::min<uint64_t>(size_bytes, 1 << 20), 0);
      for (uint64_t done = 0; done < size_bytes;) {
        size_t chunk = static_cast<size_t>(std::min<uint64_t>(zeros.size(), size_bytes - done));
        ssize_t rc = ::pwrite(fd, zeros.data(), chunk, static_cast<off_t>(done));
        if (rc < 0 && errno == EINTR) continue;
        if (rc <= 0) throw std::runtime_error(errno_text(rc < 0 ? errno : ENOSPC, "filling " + path_));
        done += static_cast<uint64_t>(rc);
      }
      if (::fdatasync(fd) != 0) {
        int error = errno;
        throw std::runtime_error(errno_text(error, "fdatasync " + path_));
      }
      ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    } catch (...) {
      ::close(fd);
      ::unlink(path_.c_str());
      throw;
    }
    ::close(fd);
  }
  ~TempFile() { ::unlink(path_.c_str()); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A loop device backed by `file` with direct I/O on, so tests exercise a real block device.
// Set up through /dev/loop-control and LOOP_CONFIGURE rather than losetup: no shell, no
// parsing, and AUTOCLEAR frees the device even if the test process dies.
class LoopDevice {
 public:
  // block_size 0 keeps the kernel default (512); 4096 gives a 4Kn device.
  explicit LoopDevice(const std::string& file, uint32_t block_size = 0) {
    int backing = ::open(file.c_str(), O_RDWR | O_CLOEXEC);
    if (backing < 0) {
      int error = errno;
      throw std::runtime_error(errno_text(error, "open " + file));
    }
    int control = ::open("/dev/loop-control", O_RDWR | O_CLOEXEC);
    if (control < 0) {
      int error = errno;
      ::close(backing);
      throw std::runtime_error(errno_text(error, "open /dev/loop-control"));
    }
    loop_config config{};
    config.fd = static_cast<uint32_t>(backing);
    config.block_size = block_size;
    config.info.lo_flags = LO_FLAGS_DIRECT_IO | LO_FLAGS_AUTOCLEAR;
    std::string failure;
    // Other test runs grab free devices concurrently: EBUSY means we lost a race, so ask again.
    for (int attempt = 0; attempt < 20 && fd_ < 0; ++attempt) {
      int index = ::ioctl(control, LOOP_CTL_GET_FREE);
      if (index < 0) {
        failure = errno_text(errno, "LOOP_CTL_GET_FREE");
        break;
      }
      std::string path = "/dev/loop" + std::to_string(index);
      int device = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
      if (device < 0) {
        int error = errno;
        failure = errno_text(error, "open " + path);
        continue;
      }
      if (::ioctl(device, LOOP_CONFIGURE, &config) == 0) {
        fd_ = device;
        path_ = path;
      } else {
        int error = errno;
        failure = errno_text(error, "LOOP_CONFIGURE " + path);
        ::close(device);
        if (error != EBUSY) break;
      }
    }
    ::close(control);
    ::close(backing);  // the loop device holds its own reference to the file
    if (fd_ < 0) throw std::runtime_error("cannot set up a loop device for " + file + ": " + failure);
  }

  ~LoopDevice() {
    ::ioctl(fd_, LOOP_CLR_FD);
    ::close(fd_);
  }
  LoopDevice(const LoopDevice&) = delete;
  LoopDevice& operator=(const LoopDevice&) = delete;

  const std::string& path() const { return path_; }

  // Why loop devices cannot be used here, if they cannot; tests skip with this text.
  static std::optional<std::string> unavailable_reason() {
    if (::geteuid() != 0) return "loop devices need root";
    if (::access("/dev/loop-control", R_OK | W_OK) != 0) return errno_text(errno, "/dev/loop-control");
    return std::nullopt;
  }

 private:
  int fd_ = -1;
  std::string path_;
};

}  // namespace vnic_test
