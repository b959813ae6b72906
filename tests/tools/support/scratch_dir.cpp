#include "tests/tools/support/scratch_dir.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>

#include <fmt/format.h>

namespace tools_test {

ScratchDir::ScratchDir() {
  const char* base = std::getenv("VNIC_TEST_DIR");
  std::string pattern = fmt::format("{}/vnic-tools-test-XXXXXX", base != nullptr && *base != '\0' ? base : "/var/tmp");
  std::vector<char> name(pattern.begin(), pattern.end());
  name.push_back('\0');
  if (::mkdtemp(name.data()) == nullptr)
    throw std::runtime_error(fmt::format("mkdtemp {}: {}", pattern, std::strerror(errno)));
  dir_ = name.data();
}

ScratchDir::~ScratchDir() {
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::string ScratchDir::path(const std::string& name) const { return dir_ + "/" + name; }

void write_file(const std::string& path, const std::vector<char>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
}

std::vector<char> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  return std::vector<char>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

uint64_t file_size(const std::string& path) { return std::filesystem::file_size(path); }

void truncate_file(const std::string& path, uint64_t size) {
  if (::truncate(path.c_str(), static_cast<off_t>(size)) != 0)
    throw std::runtime_error(fmt::format("truncate {}: {}", path, std::strerror(errno)));
}

std::vector<char> random_bytes(size_t size, uint64_t seed) {
  std::mt19937_64 generator(seed);
  std::vector<char> bytes(size);
  for (char& b : bytes) b = static_cast<char>(generator() & 0xff);
  return bytes;
}

}  // namespace tools_test
