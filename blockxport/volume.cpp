#include "blockxport/volume.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <utility>

namespace blockxport {
namespace {

[[noreturn]] void fail(const std::string& path, std::string_view reason) {
  throw VolumeError(fmt::format("{}: {}", path, reason));
}

// Closes the descriptor if open() throws before the Volume owns it.
struct FdGuard {
  int fd;
  ~FdGuard() {
    if (fd >= 0) ::close(fd);
  }
  int release() { return std::exchange(fd, -1); }
};

std::string_view file_type_name(mode_t mode) {
  if (S_ISDIR(mode)) return "directory";
  if (S_ISCHR(mode)) return "character device";
  if (S_ISFIFO(mode)) return "FIFO";
  if (S_ISSOCK(mode)) return "socket";
  if (S_ISLNK(mode)) return "symbolic link";
  return "unknown file type";
}

std::string filesystem_name(int64_t magic) {
  switch (magic) {
    case EXT4_SUPER_MAGIC:
      return "ext4";  // ext2 and ext3 share the magic; ext4 is the one in use
    case XFS_SUPER_MAGIC:
      return "xfs";
    case BTRFS_SUPER_MAGIC:
      return "btrfs";
    case TMPFS_MAGIC:
      return "tmpfs";
    case OVERLAYFS_SUPER_MAGIC:
      return "overlayfs";
    case F2FS_SUPER_MAGIC:
      return "f2fs";
    case NFS_SUPER_MAGIC:
      return "nfs";
    case FUSE_SUPER_MAGIC:
      return "fuse";
    case V9FS_MAGIC:
      return "9p";
    case 0x2fc12fc1:
      return "zfs";
    case 0xca451a4e:
      return "bcachefs";
    default:
      return fmt::format("filesystem 0x{:x}", static_cast<uint64_t>(magic));
  }
}

std::string describe_errno(int error, bool writing) {
  switch (error) {
    case ENOENT:
      return "no such file";
    case ENOTDIR:
      return "no such file (a parent is not a directory)";
    default:
      return fmt::format("cannot open for {}: {}", writing ? "writing" : "reading", std::strerror(error));
  }
}

// EINVAL from open() with O_DIRECT almost always means the filesystem has no direct I/O; make
// sure of it by trying again without, so other EINVALs keep their own message.
std::string describe_open_einval(const std::string& path, int flags, bool writing) {
  int fd = ::open(path.c_str(), flags & ~O_DIRECT);
  if (fd < 0) return describe_errno(EINVAL, writing);
  struct statfs fs {};
  std::string where = ::fstatfs(fd, &fs) == 0 ? filesystem_name(fs.f_type) : std::string();
  ::close(fd);
  // tmpfs gained O_DIRECT in Linux 6.6, so it is only a guess when the type is unknown.
  return fmt::format("the filesystem refuses O_DIRECT ({})", where.empty() ? "tmpfs?" : "file on " + where);
}

// A pread of one 512-byte sector at offset 0 into a page-aligned buffer succeeds exactly when
// the file accepts 512-byte direct I/O; otherwise assume 4096, which every device accepts.
uint32_t probe_dio_alignment(int fd) {
  alignas(4096) std::byte sector[512];
  ssize_t rc;
  do {
    rc = ::pread(fd, sector, sizeof(sector), 0);
  } while (rc < 0 && errno == EINTR);
  // An empty file reads 0 before any alignment check, so it proves nothing: stay conservative.
  return rc > 0 ? 512 : 4096;
}

uint32_t file_dio_alignment(int fd) {
  struct statx stx {};
  // Zero alignments with STATX_DIOALIGN set mean "no direct I/O on this file" on some
  // filesystems even though open(O_DIRECT) worked; the probe gives the real answer there.
  if (::statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) == 0 && (stx.stx_mask & STATX_DIOALIGN) != 0 &&
      stx.stx_dio_offset_align != 0) {
    return std::max({stx.stx_dio_offset_align, stx.stx_dio_mem_align, 512u});
  }
  return probe_dio_alignment(fd);
}

std::string block_device_description(dev_t rdev) {
  std::string link = fmt::format("/sys/dev/block/{}:{}", major(rdev), minor(rdev));
  char target[256];
  ssize_t length = ::readlink(link.c_str(), target, sizeof(target) - 1);
  if (length <= 0) return "block device";
  std::string_view resolved(target, static_cast<size_t>(length));
  return fmt::format("block device {}", resolved.substr(resolved.rfind('/') + 1));
}

}  // namespace

Volume Volume::open(const std::string& path, const VolumeOpenOptions& options) {
  bool writing = options.access == VolumeAccess::read_write;
  // stat before open: opening a FIFO would block and opening some character devices has side
  // effects, so refuse those without touching them.
  struct stat before {};
  if (::stat(path.c_str(), &before) != 0) fail(path, describe_errno(errno, writing));
  if (!S_ISREG(before.st_mode) && !S_ISBLK(before.st_mode)) {
    fail(path, fmt::format("not a regular file or block device (it is a {})", file_type_name(before.st_mode)));
  }

  int flags = (writing ? O_RDWR : O_RDONLY) | O_DIRECT | O_CLOEXEC | (options.open_dsync ? O_DSYNC : 0);
  FdGuard fd{::open(path.c_str(), flags)};
  if (fd.fd < 0) {
    int error = errno;
    fail(path, error == EINVAL ? describe_open_einval(path, flags, writing) : describe_errno(error, writing));
  }
  struct stat st {};
  if (::fstat(fd.fd, &st) != 0) fail(path, fmt::format("cannot stat: {}", std::strerror(errno)));
  if (st.st_dev != before.st_dev || st.st_ino != before.st_ino) fail(path, "was replaced while being opened");

  Volume volume;
  volume.path_ = path;
  volume.writable_ = writing;
  volume.is_block_device_ = S_ISBLK(st.st_mode);
  if (volume.is_block_device_) {
    uint64_t size = 0;
    if (::ioctl(fd.fd, BLKGETSIZE64, &size) != 0) {
      fail(path, fmt::format("cannot read the device size (BLKGETSIZE64): {}", std::strerror(errno)));
    }
    int sector = 0;
    if (::ioctl(fd.fd, BLKSSZGET, &sector) != 0 || sector <= 0) {
      fail(path, fmt::format("cannot read the logical block size (BLKSSZGET): {}", std::strerror(errno)));
    }
    volume.size_bytes_ = size;
    volume.logical_block_size_ = static_cast<uint32_t>(sector);
    volume.backing_description_ = block_device_description(st.st_rdev);
  } else {
    volume.size_bytes_ = static_cast<uint64_t>(st.st_size);
    volume.logical_block_size_ = file_dio_alignment(fd.fd);
    struct statfs fs {};
    volume.backing_description_ =
        ::fstatfs(fd.fd, &fs) == 0 ? "file on " + filesystem_name(fs.f_type) : std::string("file");
  }
  volume.fd_ = fd.release();
  return volume;
}

Volume::Volume(Volume&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      path_(std::move(other.path_)),
      size_bytes_(other.size_bytes_),
      logical_block_size_(other.logical_block_size_),
      is_block_device_(other.is_block_device_),
      writable_(other.writable_),
      backing_description_(std::move(other.backing_description_)) {}

Volume& Volume::operator=(Volume&& other) noexcept {
  // Swapping hands our old descriptor to `other`, whose destructor closes it.
  std::swap(fd_, other.fd_);
  std::swap(path_, other.path_);
  std::swap(size_bytes_, other.size_bytes_);
  std::swap(logical_block_size_, other.logical_block_size_);
  std::swap(is_block_device_, other.is_block_device_);
  std::swap(writable_, other.writable_);
  std::swap(backing_description_, other.backing_description_);
  return *this;
}

Volume::~Volume() {
  if (fd_ >= 0) ::close(fd_);
}

void Volume::read_exact(void* buffer, uint64_t length, uint64_t offset) const {
  auto* bytes = static_cast<std::byte*>(buffer);
  uint64_t done = 0;
  while (done < length) {
    ssize_t rc = ::pread(fd_, bytes + done, length - done, static_cast<off_t>(offset + done));
    if (rc < 0 && errno == EINTR) continue;
    if (rc <= 0) {
      std::string why = rc < 0 ? std::strerror(errno) : fmt::format("end of volume after {} bytes", done);
      fail(path_, fmt::format("read of {} bytes at offset {} failed: {}", length, offset, why));
    }
    done += static_cast<uint64_t>(rc);
  }
}

void Volume::write_exact(const void* buffer, uint64_t length, uint64_t offset) const {
  if (!writable_) {
    fail(path_, fmt::format("write of {} bytes at offset {} failed: the volume is open read-only", length, offset));
  }
  const auto* bytes = static_cast<const std::byte*>(buffer);
  uint64_t done = 0;
  while (done < length) {
    ssize_t rc = ::pwrite(fd_, bytes + done, length - done, static_cast<off_t>(offset + done));
    if (rc < 0 && errno == EINTR) continue;
    if (rc <= 0) {
      std::string why = rc < 0 ? std::strerror(errno) : fmt::format("no progress after {} bytes", done);
      fail(path_, fmt::format("write of {} bytes at offset {} failed: {}", length, offset, why));
    }
    done += static_cast<uint64_t>(rc);
  }
}

}  // namespace blockxport
