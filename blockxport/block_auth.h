// Authenticated (and optionally encrypted) blocks and state records with a pre-shared key. This is
// the only place that calls libsodium: format.cpp says which bytes are where, this file says what
// the tag over them is. docs/SECURITY.md has the threat model, docs/FORMAT.md the bytes.
//
// Blocks: a Poly1305 tag under a one-time key drawn from XChaCha20(block key, nonce), over the
// volume UUID, the header (flags, key id, slot, epoch, sequence, valid bytes ...) and the records;
// with encryption the records are XChaCha20-Poly1305 ciphertext and UUID and header are its
// associated data. The 24-byte nonce is (epoch, sequence, slot, first 4 bytes of the UUID): unique
// for a key because a writer draws a random epoch at every start and never reuses a sequence in
// an epoch. State records: keyed BLAKE2b-128, which needs no nonce (a record is rewritten many
// times with the same epoch and heartbeat).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>

#include "blockxport/format.h"

namespace blockxport {

inline constexpr size_t kKeyBytes = 32;

// 32 secret bytes, wiped when they go.
struct SecretKey {
  std::array<unsigned char, kKeyBytes> bytes{};
  SecretKey() = default;
  SecretKey(const SecretKey&) = default;
  SecretKey& operator=(const SecretKey&) = default;
  ~SecretKey();
};

SecretKey generate_key();
// The 4-byte id a key's blocks and records carry, so a reader holding two keys (a rollover)
// knows which to try. Derived one-way from the key; it tells nothing about the key.
uint32_t key_id_of(const SecretKey& key);

enum class AuthResult : uint8_t {
  accepted,     // authentic; or no key configured here and none used there
  missing_tag,  // a key is configured here, the block or record carries no tag
  no_key,       // it carries a tag, but no key is configured here
  unknown_key,  // its key id is not one of ours
  bad_tag,      // forged, altered, or bound to another volume, slot, epoch or sequence
};
std::string_view auth_result_name(AuthResult result);

// The key this node seals with, and optionally one more it accepts (a rolling key change).
class Keyring {
 public:
  Keyring(const SecretKey& write_key, const SecretKey* accept_key, bool encrypt);
  ~Keyring();
  Keyring(const Keyring&) = delete;
  Keyring& operator=(const Keyring&) = delete;

  uint32_t write_key_id() const { return write_.id; }
  std::optional<uint32_t> accept_key_id() const;
  bool encrypts() const { return encrypt_; }
  // What a block sealed here says in its flags.
  uint16_t block_flags() const;

  // `block` holds the encoded header (flags and key id from this keyring), the records, and room
  // for the tag; writes the tag (and encrypts the records in place). The CRC comes after.
  void seal_block(std::span<std::byte> block, const BlockHeader& header, const Uuid& volume) const;
  // Checks the tag of a block that passed decode_block, and decrypts its records in place.
  AuthResult open_block(std::span<std::byte> block, const BlockHeader& header, const Uuid& volume) const;

  AuthTag state_record_tag(uint32_t key_id, std::span<const std::byte> mac_input) const;
  AuthResult check_state_record(const StateRecordAuth& auth, std::span<const std::byte> mac_input) const;

 private:
  struct Derived {
    uint32_t id = 0;
    std::array<unsigned char, kKeyBytes> block_mac{};   // authenticated blocks (one-time Poly1305 keys)
    std::array<unsigned char, kKeyBytes> block_aead{};  // encrypted blocks (XChaCha20-Poly1305)
    std::array<unsigned char, kKeyBytes> state_mac{};   // state records (keyed BLAKE2b)
  };
  static Derived derive(const SecretKey& key);
  const Derived* find(uint32_t id) const;

  Derived write_;
  std::optional<Derived> accept_;
  bool encrypt_;
};

// The policy for a node with keys (authentic blocks only) or without (plain blocks only), in
// one call for the reader: `keys` may be null.
AuthResult authenticate_block(const Keyring* keys, std::span<std::byte> block, const BlockHeader& header,
                              const Uuid& volume);

// Encodes `record` plain (no keys) or authenticated: the caller fills record.auth's echo
// (peer_epoch, peer_heartbeat), this fills key id and tag. Returns the encoded length.
size_t seal_state_record(StateRecord record, const Keyring* keys, std::span<std::byte> out);
// For a record decode_state_record accepted: `encoded` is what it decoded.
AuthResult authenticate_state_record(const Keyring* keys, std::span<const std::byte> encoded,
                                     const StateRecord& decoded);

}  // namespace blockxport
