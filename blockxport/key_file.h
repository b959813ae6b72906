// Key files: one line, `vnic-key-v1 ` and 64 hex digits (32 random bytes). A key file must be a
// regular file of mode 0600 (no group or other bits) owned by the user that reads it, or it is
// refused: a key others can read authenticates nothing.
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "blockxport/block_auth.h"

namespace blockxport {

inline constexpr std::string_view kKeyFileMagic = "vnic-key-v1";

// "key file PATH: what is wrong", one line.
struct KeyFileError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string encode_key_file(const SecretKey& key);
// The text of a key file: exactly the magic, one space, 64 hex digits, an optional newline.
std::optional<SecretKey> parse_key_file(std::string_view text);

// Reads and checks PATH (regular file, mode 0600 or stricter, owned by `owner`, well formed).
SecretKey read_key_file(const std::string& path, uid_t owner);
// Writes a key file of mode 0600. Refuses an existing PATH unless `force`, which replaces it
// atomically (a new file renamed over it), so no one ever sees half a key.
void write_key_file(const std::string& path, const SecretKey& key, bool force);

struct KeyFiles {
  std::optional<std::string> key_file;         // seals what this node writes, and is accepted
  std::optional<std::string> accept_key_file;  // accepted as well (a rolling key change)
  bool encrypt = false;
};
// Null when no key file is configured. Throws KeyFileError.
std::shared_ptr<const Keyring> load_keyring(const KeyFiles& files, uid_t owner);

}  // namespace blockxport
