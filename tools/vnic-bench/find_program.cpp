#include "tools/vnic-bench/find_program.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>

namespace vnic_bench {
namespace {

namespace fs = std::filesystem;

bool is_executable(const fs::path& path) {
  std::error_code error;
  return fs::is_regular_file(path, error) && ::access(path.c_str(), X_OK) == 0;
}

fs::path own_dir() { return fs::path(self_executable()).parent_path(); }

std::optional<std::string> first_executable(const std::vector<fs::path>& candidates) {
  for (const fs::path& candidate : candidates) {
    if (!candidate.empty() && is_executable(candidate)) return fs::weakly_canonical(candidate).string();
  }
  return std::nullopt;
}

}  // namespace

std::string self_executable() {
  std::error_code error;
  fs::path self = fs::read_symlink("/proc/self/exe", error);
  if (error) throw std::runtime_error(fmt::format("/proc/self/exe: {}", error.message()));
  return self.string();
}

std::optional<std::string> find_in_path(std::string_view name) {
  const char* path = std::getenv("PATH");
  std::string_view dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin";
  while (!dirs.empty()) {
    size_t colon = dirs.find(':');
    std::string_view dir = dirs.substr(0, colon);
    dirs = colon == std::string_view::npos ? std::string_view() : dirs.substr(colon + 1);
    if (dir.empty()) continue;
    fs::path candidate = fs::path(dir) / name;
    if (is_executable(candidate)) return candidate.string();
  }
  return std::nullopt;
}

std::string require_in_path(std::string_view name, std::string_view hint) {
  if (auto found = find_in_path(name)) return *found;
  throw std::runtime_error(fmt::format("{}: not found in PATH ({})", name, hint));
}

std::optional<std::string> own_build_dir() {
  fs::path build = own_dir().parent_path().parent_path();
  if (is_executable(build / "daemon" / "vnicd")) return build.string();
  return std::nullopt;
}

std::string find_vnic_lab_script() {
  const char* env = std::getenv("VNIC_LAB_SCRIPT");
  std::vector<fs::path> candidates;
  if (env != nullptr) candidates.emplace_back(env);
  candidates.push_back(own_dir() / "vnic-lab");
  candidates.push_back(own_dir().parent_path() / "vnic-lab" / "vnic-lab");
  candidates.push_back(fs::path(VNIC_SOURCE_DIR) / "tools" / "vnic-lab" / "vnic-lab");
  if (auto found = first_executable(candidates)) return *found;
  if (auto found = find_in_path("vnic-lab")) return *found;
  throw std::runtime_error(
      "vnic-lab: not found next to vnic-bench, in the source tree or in PATH (set VNIC_LAB_SCRIPT to the script)");
}

std::string find_vnicctl() {
  std::vector<fs::path> candidates;
  if (auto build = own_build_dir()) candidates.push_back(fs::path(*build) / "tools" / "vnicctl" / "vnicctl");
  candidates.push_back(own_dir() / "vnicctl");
  candidates.push_back(fs::path(VNIC_SOURCE_DIR) / "build" / "tools" / "vnicctl" / "vnicctl");
  if (auto found = first_executable(candidates)) return *found;
  return require_in_path("vnicctl", "install vnic, or run vnic-bench from a build directory");
}

}  // namespace vnic_bench
