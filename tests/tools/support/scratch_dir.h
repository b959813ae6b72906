// Scratch volumes for the tool tests, in a private directory under /var/tmp (a disk filesystem;
// $VNIC_TEST_DIR overrides it) that is removed with everything in it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tools_test {

class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  // A path inside the directory; nothing is created.
  std::string path(const std::string& name) const;

 private:
  std::string dir_;
};

void write_file(const std::string& path, const std::vector<char>& bytes);
std::vector<char> read_file(const std::string& path);
bool file_exists(const std::string& path);
uint64_t file_size(const std::string& path);
void truncate_file(const std::string& path, uint64_t size);
// `size` pseudo-random bytes; the same seed gives the same bytes.
std::vector<char> random_bytes(size_t size, uint64_t seed);

}  // namespace tools_test
