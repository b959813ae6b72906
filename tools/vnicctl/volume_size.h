// `vnicctl format --size`: makes the volume file exist with the asked size before the format, and
// takes that back if the format then fails, so a failed command leaves nothing changed.
#pragma once

#include <cstdint>
#include <string>

namespace vnicctl {

class VolumeSizeChange {
 public:
  // Creates `path` (mode 0600: frames are traffic) or grows a regular file to `size` bytes with
  // allocated space, so a full filesystem shows up here and not in the middle of the format.
  // Refuses to shrink, and refuses block devices and other non-regular files. Throws
  // std::runtime_error("PATH: why").
  static VolumeSizeChange ensure(const std::string& path, uint64_t size);

  VolumeSizeChange(VolumeSizeChange&& other) noexcept;
  VolumeSizeChange& operator=(VolumeSizeChange&&) = delete;
  VolumeSizeChange(const VolumeSizeChange&) = delete;
  VolumeSizeChange& operator=(const VolumeSizeChange&) = delete;
  // Undoes the change unless keep() was called.
  ~VolumeSizeChange();

  void keep() { armed_ = false; }

 private:
  VolumeSizeChange(std::string path, bool created, uint64_t previous_size, bool changed);
  void undo() noexcept;

  std::string path_;
  bool created_ = false;
  uint64_t previous_size_ = 0;
  bool armed_ = false;  // something was changed and is not kept yet
};

}  // namespace vnicctl
