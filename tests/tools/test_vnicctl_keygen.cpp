// vnicctl keygen, run as a user would: a fresh random key of mode 0600, never over an existing
// file without --force, and one error line when it cannot.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "tests/tools/support/scratch_dir.h"
#include "tests/tools/support/tools_under_test.h"

using namespace tools_test;

namespace {

std::string contents(const std::string& path) {
  auto bytes = tools_test::read_file(path);
  return std::string(bytes.begin(), bytes.end());
}

unsigned mode_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

bool lower_hex(const std::string& text) {
  return !text.empty() && text.find_first_not_of("0123456789abcdef") == std::string::npos;
}

// One line: "vnic-key-v1 ", 64 lowercase hex digits, a newline.
bool is_key_file(const std::string& text) {
  const std::string magic = "vnic-key-v1 ";
  return text.size() == magic.size() + 65 && text.compare(0, magic.size(), magic) == 0 && text.back() == '\n' &&
         lower_hex(text.substr(magic.size(), 64));
}

// keygen's line names the key id: "... id 1a2b3c4d, ...".
bool names_key_id(const std::string& line) {
  auto at = line.find(" id ");
  return at != std::string::npos && lower_hex(line.substr(at + 4, 8)) && line.substr(at + 12, 1) == ",";
}

}  // namespace

TEST_CASE("keygen writes a new random key of mode 0600 and says its id", "[vnicctl][keygen]") {
  tools_test::ScratchDir dir;
  std::string first = dir.path("first.key"), second = dir.path("second.key");
  vnic_tools::CapturedRun made = vnicctl({"keygen", first});
  INFO(made.describe());
  REQUIRE(made.exit_code == 0);
  CHECK(is_one_line(made.out));
  CHECK(made.err.empty());
  CHECK(names_key_id(made.out));
  CHECK(is_key_file(contents(first)));
  CHECK(mode_of(first) == 0600);
  REQUIRE(vnicctl({"keygen", second}).exit_code == 0);
  CHECK(contents(first) != contents(second));
}

TEST_CASE("keygen never replaces a key without --force", "[vnicctl][keygen]") {
  tools_test::ScratchDir dir;
  std::string key = dir.path("k");
  REQUIRE(vnicctl({"keygen", key}).exit_code == 0);
  std::string original = contents(key);
  vnic_tools::CapturedRun again = vnicctl({"keygen", key});
  INFO(again.describe());
  CHECK(again.exit_code == 1);
  CHECK(is_one_line(again.err));
  CHECK(again.err.find("already exists") != std::string::npos);
  CHECK(contents(key) == original);
  vnic_tools::CapturedRun forced = vnicctl({"keygen", key, "--force"});
  INFO(forced.describe());
  CHECK(forced.exit_code == 0);
  CHECK(contents(key) != original);
  CHECK(is_key_file(contents(key)));
  CHECK(mode_of(key) == 0600);
}

TEST_CASE("keygen into a directory that does not exist fails with one line and no file", "[vnicctl][keygen]") {
  tools_test::ScratchDir dir;
  std::string key = dir.path("missing/k");
  vnic_tools::CapturedRun result = vnicctl({"keygen", key});
  INFO(result.describe());
  CHECK(result.exit_code == 1);
  CHECK(is_one_line(result.err));
  CHECK(result.err.find(key) != std::string::npos);
  CHECK(!tools_test::file_exists(key));
  CHECK(vnicctl({"keygen"}).exit_code == 2);  // PATH is required: a usage error
}
