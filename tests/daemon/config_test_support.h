// What the daemon's config tests share: a JSON file that lives as long as the test, and vnicd's
// command line parsed from a list of words.
#pragma once

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "daemon/config.h"

namespace vnicd_test {

struct TempJson {
  std::string path;
  explicit TempJson(const std::string& text) {
    char name[] = "/tmp/vnicd-config-XXXXXX";  // mkstemp's template
    int fd = mkstemp(name);
    REQUIRE(fd >= 0);
    ::close(fd);
    path = name;
    std::ofstream(path) << text;
  }
  ~TempJson() { ::unlink(path.c_str()); }
};

// parse_command_line over {"vnicd", args...}.
inline std::optional<vnicd::Config> parse_vnicd_args(std::vector<std::string> args) {
  args.insert(args.begin(), "vnicd");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return vnicd::parse_command_line(static_cast<int>(argv.size()), argv.data());
}

}  // namespace vnicd_test
