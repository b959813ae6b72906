// A volume: a regular file or a block device opened for O_DIRECT I/O, with its geometry.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace blockxport {

// Every error about a volume names its path and what is wrong, in one line.
struct VolumeError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

enum class VolumeAccess : uint8_t { read_only, read_write };

struct VolumeOpenOptions {
  VolumeAccess access = VolumeAccess::read_only;
  bool open_dsync = false;  // O_DSYNC on the descriptor (every write durable before it completes)
};

class Volume {
 public:
  // Opens with O_DIRECT; throws VolumeError("PATH: reason") when the path is missing, not a
  // regular file or block device, not accessible as asked, or refuses O_DIRECT.
  static Volume open(const std::string& path, const VolumeOpenOptions& options);

  Volume(Volume&& other) noexcept;
  Volume& operator=(Volume&& other) noexcept;
  Volume(const Volume&) = delete;
  Volume& operator=(const Volume&) = delete;
  ~Volume();

  int fd() const { return fd_; }
  const std::string& path() const { return path_; }
  uint64_t size_bytes() const { return size_bytes_; }
  // The alignment O_DIRECT needs for offsets, lengths and buffers: BLKSSZGET on block devices,
  // statx(STATX_DIOALIGN) or a probe on files.
  uint32_t logical_block_size() const { return logical_block_size_; }
  bool is_block_device() const { return is_block_device_; }
  bool writable() const { return writable_; }
  // Where the backing store lives, for benchmark reports: "block device", "file on ext4", ...
  const std::string& backing_description() const { return backing_description_; }

  // Synchronous helpers for the cold paths (format, inspect, start-up); the data path uses an
  // IoEngine. Both throw VolumeError naming the path, offset and errno on failure or short I/O.
  void read_exact(void* buffer, uint64_t length, uint64_t offset) const;
  void write_exact(const void* buffer, uint64_t length, uint64_t offset) const;

 private:
  Volume() = default;
  int fd_ = -1;
  std::string path_;
  uint64_t size_bytes_ = 0;
  uint32_t logical_block_size_ = 512;
  bool is_block_device_ = false;
  bool writable_ = false;
  std::string backing_description_;
};

}  // namespace blockxport
