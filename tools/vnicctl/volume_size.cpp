#include "tools/vnicctl/volume_size.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <utility>

#include <fmt/format.h>

#include "tools/common/size_parse.h"

namespace vnicctl {
namespace {

[[noreturn]] void fail(const std::string& path, std::string_view why) {
  throw std::runtime_error(fmt::format("{}: {}", path, why));
}

// Allocates [from, size): fallocate where the filesystem has it, a plain extension elsewhere.
// On failure the file is put back to `from` bytes.
void grow(int fd, const std::string& path, uint64_t from, uint64_t size) {
  int rc = ::fallocate(fd, 0, static_cast<off_t>(from), static_cast<off_t>(size - from));
  if (rc != 0 && (errno == EOPNOTSUPP || errno == ENOSYS)) rc = ::ftruncate(fd, static_cast<off_t>(size));
  if (rc == 0) return;
  int error = errno;
  if (::ftruncate(fd, static_cast<off_t>(from)) != 0) {
    fail(path, fmt::format("cannot grow to {} bytes: {} (and shrinking it back to {} bytes failed: {})", size,
                           std::strerror(error), from, std::strerror(errno)));
  }
  fail(path, fmt::format("cannot grow to {} bytes: {}", size, std::strerror(error)));
}

}  // namespace

VolumeSizeChange::VolumeSizeChange(std::string path, bool created, uint64_t previous_size, bool changed)
    : path_(std::move(path)), created_(created), previous_size_(previous_size), armed_(changed) {}

VolumeSizeChange::VolumeSizeChange(VolumeSizeChange&& other) noexcept
    : path_(std::move(other.path_)),
      created_(other.created_),
      previous_size_(other.previous_size_),
      armed_(std::exchange(other.armed_, false)) {}

VolumeSizeChange::~VolumeSizeChange() {
  if (armed_) undo();
}

void VolumeSizeChange::undo() noexcept {
  armed_ = false;
  // Best effort: the format's own error is the one the user needs to see.
  if (created_) {
    ::unlink(path_.c_str());
  } else {
    (void)::truncate(path_.c_str(), static_cast<off_t>(previous_size_));
  }
}

VolumeSizeChange VolumeSizeChange::ensure(const std::string& path, uint64_t size) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno != ENOENT) fail(path, std::strerror(errno));
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) fail(path, fmt::format("cannot create: {}", std::strerror(errno)));
    try {
      grow(fd, path, 0, size);
    } catch (...) {
      ::close(fd);
      ::unlink(path.c_str());
      throw;
    }
    ::close(fd);
    return VolumeSizeChange(path, true, 0, true);
  }
  if (S_ISBLK(st.st_mode)) fail(path, "--size applies to regular files only, and this is a block device");
  if (!S_ISREG(st.st_mode)) fail(path, "--size applies to regular files only, and this is not one");
  auto current = static_cast<uint64_t>(st.st_size);
  if (current > size) {
    fail(path, fmt::format("is {} bytes ({}), larger than --size {}; refusing to shrink it", current,
                           vnic_tools::format_size(current), vnic_tools::format_size(size)));
  }
  if (current == size) return VolumeSizeChange(path, false, current, false);
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) fail(path, fmt::format("cannot open for writing: {}", std::strerror(errno)));
  try {
    grow(fd, path, current, size);
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
  return VolumeSizeChange(path, false, current, true);
}

}  // namespace vnicctl
