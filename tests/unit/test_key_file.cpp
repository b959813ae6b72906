// Key files: the format, and every way a key file is refused (vnicd does not start with one).
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>

#include "../support/temp_file.h"
#include "auth_rig.h"
#include "blockxport/key_file.h"

using namespace blockxport;
using namespace vnic_test;

namespace {

const std::string kGoodHex = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

// A key file path in a fresh scratch directory, removed afterwards.
struct KeyDir {
  KeyDir() {
    char pattern[] = "/var/tmp/vnic-test-keys-XXXXXX";
    REQUIRE(::mkdtemp(pattern) != nullptr);
    dir = pattern;
  }
  ~KeyDir() { std::system(("rm -rf '" + dir + "'").c_str()); }
  std::string path(const std::string& name) const { return dir + "/" + name; }
  std::string write(const std::string& name, const std::string& text, mode_t mode = 0600) const {
    std::string p = path(name);
    std::ofstream(p) << text;
    REQUIRE(::chmod(p.c_str(), mode) == 0);
    return p;
  }
  std::string dir;
};

std::string refusal(const std::string& path, uid_t owner = ::geteuid()) {
  try {
    read_key_file(path, owner);
  } catch (const KeyFileError& e) {
    return e.what();
  }
  return "accepted";
}

}  // namespace

TEST_CASE("a key file is one line: the magic and 64 hex digits", "[key-file]") {
  auto key = parse_key_file("vnic-key-v1 " + kGoodHex + "\n");
  REQUIRE(key);
  CHECK(key->bytes[1] == 0x11);
  CHECK(parse_key_file("vnic-key-v1 " + kGoodHex));  // the newline is optional
  CHECK(encode_key_file(*key) == "vnic-key-v1 " + kGoodHex + "\n");
  CHECK(!parse_key_file(""));
  CHECK(!parse_key_file("vnic-key-v2 " + kGoodHex + "\n"));
  CHECK(!parse_key_file("vnic-key-v1  " + kGoodHex + "\n"));
  CHECK(!parse_key_file("vnic-key-v1 " + kGoodHex.substr(2) + "\n"));
  CHECK(!parse_key_file("vnic-key-v1 " + kGoodHex + "00\n"));
  CHECK(!parse_key_file("vnic-key-v1 " + kGoodHex.substr(0, 63) + "g\n"));
  CHECK(!parse_key_file("vnic-key-v1 " + kGoodHex + "\n\n"));
  CHECK(!parse_key_file("vnic-key-v1 " + kGoodHex + " \n"));
}

TEST_CASE("write_key_file makes a 0600 file, and refuses to replace one unless forced", "[key-file]") {
  KeyDir dir;
  std::string path = dir.path("k");
  SecretKey first = generate_key();
  write_key_file(path, first, false);
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);
  CHECK(read_key_file(path, ::geteuid()).bytes == first.bytes);
  CHECK_THROWS_WITH(write_key_file(path, generate_key(), false), Catch::Contains("already exists"));
  CHECK(read_key_file(path, ::geteuid()).bytes == first.bytes);
  SecretKey second = generate_key();
  write_key_file(path, second, true);
  CHECK(read_key_file(path, ::geteuid()).bytes == second.bytes);
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);
}

TEST_CASE("a key file that others can read, someone else owns, or that is not a key is refused", "[key-file]") {
  KeyDir dir;
  std::string good = dir.write("good", "vnic-key-v1 " + kGoodHex + "\n");
  CHECK(refusal(good) == "accepted");
  CHECK(refusal(dir.path("missing")) == "key file " + dir.path("missing") + ": cannot open: No such file or directory");
  CHECK_THAT(refusal(dir.write("group", "vnic-key-v1 " + kGoodHex + "\n", 0640)), Catch::Contains("mode 0640"));
  CHECK_THAT(refusal(dir.write("world", "vnic-key-v1 " + kGoodHex + "\n", 0604)), Catch::Contains("mode 0604"));
  CHECK(refusal(dir.write("strict", "vnic-key-v1 " + kGoodHex + "\n", 0400)) == "accepted");
  CHECK_THAT(refusal(good, ::geteuid() + 1), Catch::Contains("owned by uid " + std::to_string(::geteuid())));
  CHECK_THAT(refusal(dir.write("junk", "hunter2\n")), Catch::Contains("not a vnic key"));
  CHECK_THAT(refusal(dir.write("big", std::string(10000, 'a'))), Catch::Contains("not a vnic key"));
  CHECK_THAT(refusal(dir.dir), Catch::Contains("not a regular file"));
  // Every refusal is one line naming the file.
  CHECK_THAT(refusal(dir.path("missing")), Catch::StartsWith("key file " + dir.dir));
}

TEST_CASE("load_keyring: no key file is no keys; two files make a rollover keyring", "[key-file]") {
  KeyDir dir;
  CHECK(load_keyring({}, ::geteuid()) == nullptr);
  write_key_file(dir.path("new"), test_key(2), false);
  write_key_file(dir.path("old"), test_key(1), false);
  auto keys = load_keyring({dir.path("new"), dir.path("old"), true}, ::geteuid());
  REQUIRE(keys);
  CHECK(keys->write_key_id() == key_id_of(test_key(2)));
  CHECK(keys->accept_key_id() == key_id_of(test_key(1)));
  CHECK(keys->encrypts());
  dir.write("bad", "nope", 0600);
  CHECK_THROWS_AS(load_keyring({dir.path("new"), dir.path("bad"), false}, ::geteuid()), KeyFileError);
}
