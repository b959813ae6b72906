#include "blockxport/volume.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <cstring>
#include <string>

#include "blockxport/aligned_buffer.h"
#include "tests/support/skip.h"
#include "tests/support/temp_file.h"

using blockxport::AlignedBuffer;
using blockxport::Volume;
using blockxport::VolumeAccess;
using blockxport::VolumeError;
using blockxport::VolumeOpenOptions;
using Catch::Contains;

namespace {

constexpr VolumeOpenOptions kReadWrite{VolumeAccess::read_write, false};
constexpr VolumeOpenOptions kReadOnly{VolumeAccess::read_only, false};

bool is_power_of_two(uint32_t value) { return value != 0 && (value & (value - 1)) == 0; }

void fill(AlignedBuffer& buffer, unsigned seed) {
  for (size_t i = 0; i < buffer.size(); ++i) buffer.data()[i] = static_cast<std::byte>((i * 13 + seed) & 0xff);
}

// The message a failed open produces, or "" when it did not fail as a VolumeError.
std::string open_error(const std::string& path, VolumeOpenOptions options) {
  try {
    Volume::open(path, options);
  } catch (const VolumeError& error) {
    return error.what();
  }
  return "";
}

void check_write_read(const Volume& volume, uint64_t offset) {
  const uint32_t block = volume.logical_block_size();
  AlignedBuffer out(size_t{2} * block, block);
  AlignedBuffer in(size_t{2} * block, block);
  fill(out, static_cast<unsigned>(offset / block));
  volume.write_exact(out.data(), out.size(), offset);
  volume.read_exact(in.data(), in.size(), offset);
  CHECK(std::memcmp(out.data(), in.data(), out.size()) == 0);
}

}  // namespace

TEST_CASE("a scratch file opens read-write with sane geometry", "[volume]") {
  vnic_test::TempFile file(1 << 20);
  Volume volume = Volume::open(file.path(), kReadWrite);
  CHECK(volume.fd() >= 0);
  CHECK(volume.path() == file.path());
  CHECK(volume.size_bytes() == (1u << 20));
  CHECK(volume.logical_block_size() >= 512);
  CHECK(volume.logical_block_size() <= 65536);
  CHECK(is_power_of_two(volume.logical_block_size()));
  CHECK_FALSE(volume.is_block_device());
  CHECK(volume.writable());
  CHECK_THAT(volume.backing_description(), Catch::StartsWith("file on "));
  int flags = ::fcntl(volume.fd(), F_GETFL);
  CHECK((flags & O_DIRECT) != 0);
  CHECK((flags & O_ACCMODE) == O_RDWR);
  CHECK((::fcntl(volume.fd(), F_GETFD) & FD_CLOEXEC) != 0);
  WARN("scratch volume: " << volume.backing_description() << ", logical block size " << volume.logical_block_size());
  check_write_read(volume, 0);
  check_write_read(volume, volume.size_bytes() - 2 * volume.logical_block_size());
}

TEST_CASE("a read-only volume reads but refuses writes", "[volume]") {
  vnic_test::TempFile file(64 * 1024);
  {
    Volume writer = Volume::open(file.path(), kReadWrite);
    check_write_read(writer, 4096);
  }
  Volume volume = Volume::open(file.path(), kReadOnly);
  CHECK_FALSE(volume.writable());
  CHECK((::fcntl(volume.fd(), F_GETFL) & O_ACCMODE) == O_RDONLY);
  const uint32_t block = volume.logical_block_size();
  AlignedBuffer buffer(block, block);
  volume.read_exact(buffer.data(), block, 0);
  CHECK_THROWS_WITH(volume.write_exact(buffer.data(), block, 0),
                    Contains(file.path()) && Contains("read-only") && Contains("offset 0"));
}

TEST_CASE("open_dsync opens the descriptor with O_DSYNC", "[volume]") {
  vnic_test::TempFile file(64 * 1024);
  Volume volume = Volume::open(file.path(), {VolumeAccess::read_write, true});
  CHECK((::fcntl(volume.fd(), F_GETFL) & O_DSYNC) != 0);
  check_write_read(volume, 0);
  Volume plain = Volume::open(file.path(), kReadWrite);
  CHECK((::fcntl(plain.fd(), F_GETFL) & O_DSYNC) == 0);
}

TEST_CASE("opening what is not a volume fails with a message naming the path", "[volume]") {
  vnic_test::TempFile file(4096);
  SECTION("a missing path") {
    std::string missing = file.path() + ".missing";
    std::string error = open_error(missing, kReadOnly);
    CHECK_THAT(error, Contains(missing) && Contains("no such file"));
  }
  SECTION("a path under a regular file") {
    std::string error = open_error(file.path() + "/child", kReadOnly);
    CHECK_THAT(error, Contains(file.path() + "/child") && Contains("no such file"));
  }
  SECTION("a directory") {
    std::string error = open_error("/var/tmp", kReadWrite);
    CHECK_THAT(error, Contains("/var/tmp: not a regular file or block device") && Contains("directory"));
  }
  SECTION("a character device") {
    std::string error = open_error("/dev/null", kReadOnly);
    CHECK_THAT(error, Contains("/dev/null: not a regular file or block device") && Contains("character device"));
  }
}

TEST_CASE("an immutable file cannot be opened for writing", "[volume]") {
  vnic_test::TempFile file(4096);
  int fd = ::open(file.path().c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  int attributes = 0;
  bool made_immutable = ::ioctl(fd, FS_IOC_GETFLAGS, &attributes) == 0 &&
                        (attributes |= FS_IMMUTABLE_FL, ::ioctl(fd, FS_IOC_SETFLAGS, &attributes) == 0);
  if (!made_immutable) {
    const int error = errno;
    ::close(fd);
    VNIC_SKIP("cannot set the immutable attribute: " << std::strerror(error));
  }
  // Read-only opens must keep working; only the write open fails, and says why.
  std::string read_only_error = open_error(file.path(), kReadOnly);
  std::string error = open_error(file.path(), kReadWrite);
  attributes &= ~FS_IMMUTABLE_FL;
  REQUIRE(::ioctl(fd, FS_IOC_SETFLAGS, &attributes) == 0);  // or the TempFile cannot be removed
  ::close(fd);
  CHECK(read_only_error.empty());
  CHECK_THAT(error, Contains(file.path() + ": cannot open for writing: ") && Contains(std::strerror(EPERM)));
}

TEST_CASE("read_exact past the end names the offset", "[volume]") {
  vnic_test::TempFile file(64 * 1024);
  Volume volume = Volume::open(file.path(), kReadOnly);
  const uint32_t block = volume.logical_block_size();
  AlignedBuffer buffer(size_t{2} * block, block);
  CHECK_THROWS_WITH(
      volume.read_exact(buffer.data(), block, 64 * 1024),
      Contains(file.path()) && Contains("read of " + std::to_string(block) + " bytes") && Contains("offset 65536"));
  // Straddling the end: the first block arrives, then the volume runs out.
  uint64_t straddle = 64 * 1024 - block;
  CHECK_THROWS_WITH(volume.read_exact(buffer.data(), 2 * block, straddle),
                    Contains("offset " + std::to_string(straddle)) && Contains("after " + std::to_string(block)));
}

TEST_CASE("read_exact reports the errno of a refused O_DIRECT read", "[volume]") {
  vnic_test::TempFile file(64 * 1024);
  Volume volume = Volume::open(file.path(), kReadOnly);
  const uint32_t block = volume.logical_block_size();
  AlignedBuffer buffer(size_t{2} * block, block);
  // A length off the sector grid, not a misaligned buffer: Linux 6.18 accepts any buffer address
  // whose page-bounded pieces are whole sectors, so only the length is a portable refusal.
  CHECK_THROWS_WITH(volume.read_exact(buffer.data(), 100, 0),
                    Contains("read of 100 bytes at offset 0 failed: ") && Contains(std::strerror(EINVAL)));
}

TEST_CASE("a moved volume keeps its descriptor and the last owner closes it", "[volume]") {
  vnic_test::TempFile file(4096);
  int fd = -1;
  int replaced = -1;
  {
    Volume first = Volume::open(file.path(), kReadOnly);
    fd = first.fd();
    Volume second = std::move(first);
    CHECK(second.fd() == fd);
    CHECK(second.path() == file.path());
    Volume third = Volume::open(file.path(), kReadOnly);
    replaced = third.fd();
    third = std::move(second);
    CHECK(third.fd() == fd);
    CHECK(::fcntl(fd, F_GETFD) != -1);
  }
  for (int closed : {fd, replaced}) {
    errno = 0;
    CHECK(::fcntl(closed, F_GETFD) == -1);
    CHECK(errno == EBADF);
  }
}

TEST_CASE("a loop device opens as a block device with its sector size", "[volume][loop]") {
  if (auto reason = vnic_test::LoopDevice::unavailable_reason()) VNIC_SKIP(*reason);
  uint32_t requested = GENERATE(0u, 4096u);
  INFO("loop block size " << requested);
  vnic_test::TempFile file(4 << 20, "loop");
  vnic_test::LoopDevice loop(file.path(), requested);
  Volume volume = Volume::open(loop.path(), kReadWrite);
  CHECK(volume.is_block_device());
  CHECK(volume.size_bytes() == (4u << 20));
  int sector = 0;
  REQUIRE(::ioctl(volume.fd(), BLKSSZGET, &sector) == 0);
  CHECK(volume.logical_block_size() == static_cast<uint32_t>(sector));
  CHECK(volume.logical_block_size() == (requested == 0 ? 512u : requested));
  std::string device_name = loop.path().substr(loop.path().rfind('/') + 1);
  CHECK(volume.backing_description() == "block device " + device_name);
  check_write_read(volume, 0);
  check_write_read(volume, volume.size_bytes() - 2 * volume.logical_block_size());

  // The bytes went through to the backing file, not just into a cache.
  Volume backing = Volume::open(file.path(), kReadOnly);
  AlignedBuffer via_device(volume.logical_block_size(), 4096);
  AlignedBuffer via_file(volume.logical_block_size(), 4096);
  volume.read_exact(via_device.data(), via_device.size(), 0);
  backing.read_exact(via_file.data(), via_file.size(), 0);
  CHECK(std::memcmp(via_device.data(), via_file.data(), via_file.size()) == 0);
}
