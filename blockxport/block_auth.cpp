#include "blockxport/block_auth.h"

#include <sodium.h>

#include <cstring>
#include <stdexcept>

#include "blockxport/le.h"

namespace blockxport {
namespace {

static_assert(crypto_kdf_KEYBYTES == kKeyBytes);
static_assert(crypto_aead_xchacha20poly1305_ietf_KEYBYTES == kKeyBytes);
static_assert(crypto_aead_xchacha20poly1305_ietf_ABYTES == kAuthTagBytes);
static_assert(crypto_onetimeauth_BYTES == kAuthTagBytes && crypto_onetimeauth_KEYBYTES == kKeyBytes);
static_assert(crypto_stream_xchacha20_KEYBYTES == kKeyBytes);

// crypto_kdf: one subkey per purpose, so no key is ever used by two constructions.
constexpr char kKdfContext[crypto_kdf_CONTEXTBYTES + 1] = "vnic-key";
enum Subkey : uint64_t { kBlockMacSubkey = 1, kBlockAeadSubkey = 2, kStateMacSubkey = 3, kKeyIdSubkey = 4 };

constexpr size_t kNonceBytes = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
static_assert(kNonceBytes == crypto_stream_xchacha20_NONCEBYTES && kNonceBytes == 24);
using Nonce = std::array<std::byte, kNonceBytes>;
// The volume UUID, then the header up to its CRC, then a version 2 header's extension: what binds
// a block to its place (and its destinations).
struct AssociatedData {
  std::array<std::byte, sizeof(Uuid) + kBlockHeaderV2Bytes - 4> bytes;
  size_t length = 0;
  const std::byte* data() const { return bytes.data(); }
  size_t size() const { return length; }
};

void ensure_sodium() {
  static const bool ready = sodium_init() >= 0;
  if (!ready) throw std::runtime_error("libsodium failed to initialise");
}

unsigned char* uc(std::byte* p) { return reinterpret_cast<unsigned char*>(p); }
const unsigned char* uc(const std::byte* p) { return reinterpret_cast<const unsigned char*>(p); }

// (epoch, sequence, slot, volume): never the same twice under one key (see the file comment).
Nonce block_nonce(const BlockHeader& h, const Uuid& volume) {
  Nonce n{};
  le::store<uint64_t>(n.data(), h.epoch);
  le::store<uint64_t>(n.data() + 8, h.sequence);
  le::store<uint32_t>(n.data() + 16, h.slot);
  std::memcpy(n.data() + 20, volume.data(), 4);
  return n;
}

AssociatedData associated_data(std::span<const std::byte> block, const BlockHeader& h, const Uuid& volume) {
  AssociatedData ad;
  auto header = block_mac_header(block);
  auto extension = block_header_extension(block, h);
  std::memcpy(ad.bytes.data(), volume.data(), volume.size());
  std::memcpy(ad.bytes.data() + volume.size(), header.data(), header.size());
  std::memcpy(ad.bytes.data() + volume.size() + header.size(), extension.data(), extension.size());
  ad.length = volume.size() + header.size() + extension.size();
  return ad;
}

// Poly1305 under a one-time key, the first 32 bytes of XChaCha20(key, nonce), as NaCl's
// secretbox does: streamed over UUID, header and records without encrypting anything. The
// leading parts' lengths are fixed by the header's version, which they include, so the
// concatenation is unambiguous.
AuthTag one_time_mac(const std::array<unsigned char, kKeyBytes>& key, const Nonce& nonce, const AssociatedData& ad,
                     std::span<const std::byte> records) {
  unsigned char one_time_key[crypto_onetimeauth_KEYBYTES];
  crypto_stream_xchacha20(one_time_key, sizeof(one_time_key), uc(nonce.data()), key.data());
  crypto_onetimeauth_state state;
  crypto_onetimeauth_init(&state, one_time_key);
  crypto_onetimeauth_update(&state, uc(ad.data()), ad.size());
  crypto_onetimeauth_update(&state, uc(records.data()), records.size());
  AuthTag tag;
  crypto_onetimeauth_final(&state, uc(tag.data()));
  sodium_memzero(one_time_key, sizeof(one_time_key));
  sodium_memzero(&state, sizeof(state));
  return tag;
}

}  // namespace

SecretKey::~SecretKey() { sodium_memzero(bytes.data(), bytes.size()); }

SecretKey generate_key() {
  ensure_sodium();
  SecretKey key;
  crypto_kdf_keygen(key.bytes.data());
  return key;
}

uint32_t key_id_of(const SecretKey& key) {
  ensure_sodium();
  std::array<std::byte, crypto_kdf_BYTES_MIN> id_bytes;
  crypto_kdf_derive_from_key(uc(id_bytes.data()), id_bytes.size(), kKeyIdSubkey, kKdfContext, key.bytes.data());
  return le::u32(id_bytes.data());
}

std::string_view auth_result_name(AuthResult result) {
  switch (result) {
    case AuthResult::accepted:
      return "accepted";
    case AuthResult::missing_tag:
      return "not authenticated";
    case AuthResult::no_key:
      return "authenticated, but no key is configured";
    case AuthResult::unknown_key:
      return "sealed with a key we do not hold";
    case AuthResult::bad_tag:
      return "authentication tag does not verify";
  }
  return "unknown";
}

Keyring::Derived Keyring::derive(const SecretKey& key) {
  Derived d;
  d.id = key_id_of(key);
  crypto_kdf_derive_from_key(d.block_mac.data(), d.block_mac.size(), kBlockMacSubkey, kKdfContext, key.bytes.data());
  crypto_kdf_derive_from_key(d.block_aead.data(), d.block_aead.size(), kBlockAeadSubkey, kKdfContext, key.bytes.data());
  crypto_kdf_derive_from_key(d.state_mac.data(), d.state_mac.size(), kStateMacSubkey, kKdfContext, key.bytes.data());
  return d;
}

Keyring::Keyring(const SecretKey& write_key, const SecretKey* accept_key, bool encrypt) : encrypt_(encrypt) {
  ensure_sodium();
  write_ = derive(write_key);
  if (accept_key) {
    accept_ = derive(*accept_key);
    if (accept_->id == write_.id && sodium_memcmp(accept_->block_mac.data(), write_.block_mac.data(), kKeyBytes) != 0)
      throw std::invalid_argument("the two keys have the same key id: generate another key");
  }
}

Keyring::~Keyring() {
  sodium_memzero(&write_, sizeof(write_));
  if (accept_) sodium_memzero(&*accept_, sizeof(*accept_));
}

std::optional<uint32_t> Keyring::accept_key_id() const {
  return accept_ ? std::optional<uint32_t>(accept_->id) : std::nullopt;
}

uint16_t Keyring::block_flags() const { return kBlockAuthenticated | (encrypt_ ? kBlockEncrypted : 0); }

const Keyring::Derived* Keyring::find(uint32_t id) const {
  if (id == write_.id) return &write_;
  if (accept_ && id == accept_->id) return &*accept_;
  return nullptr;
}

void Keyring::seal_block(std::span<std::byte> block, const BlockHeader& h, const Uuid& volume) const {
  if (!h.authenticated() || h.key_id != write_.id) throw std::logic_error("block header not sealed by this keyring");
  Nonce nonce = block_nonce(h, volume);
  AssociatedData ad = associated_data(block, h, volume);
  std::span<std::byte> records = block_records(block, h);
  std::span<std::byte> tag = block_tag(block, h);
  if (h.encrypted()) {
    crypto_aead_xchacha20poly1305_ietf_encrypt_detached(uc(records.data()), uc(tag.data()), nullptr, uc(records.data()),
                                                        records.size(), uc(ad.data()), ad.size(), nullptr,
                                                        uc(nonce.data()), write_.block_aead.data());
    return;
  }
  AuthTag mac = one_time_mac(write_.block_mac, nonce, ad, records);
  std::memcpy(tag.data(), mac.data(), mac.size());
}

AuthResult Keyring::open_block(std::span<std::byte> block, const BlockHeader& h, const Uuid& volume) const {
  if (!h.authenticated()) return AuthResult::missing_tag;
  const Derived* key = find(h.key_id);
  if (!key) return AuthResult::unknown_key;
  Nonce nonce = block_nonce(h, volume);
  AssociatedData ad = associated_data(block, h, volume);
  std::span<std::byte> records = block_records(block, h);
  std::span<std::byte> tag = block_tag(block, h);
  if (h.encrypted()) {
    // Verifies before it decrypts; on failure the records are wiped, never half-decrypted.
    int failed = crypto_aead_xchacha20poly1305_ietf_decrypt_detached(
        uc(records.data()), nullptr, uc(records.data()), records.size(), uc(tag.data()), uc(ad.data()), ad.size(),
        uc(nonce.data()), key->block_aead.data());
    return failed ? AuthResult::bad_tag : AuthResult::accepted;
  }
  AuthTag expected = one_time_mac(key->block_mac, nonce, ad, records);
  return crypto_verify_16(uc(expected.data()), uc(tag.data())) == 0 ? AuthResult::accepted : AuthResult::bad_tag;
}

AuthTag Keyring::state_record_tag(uint32_t key_id, std::span<const std::byte> mac_input) const {
  const Derived* key = find(key_id);
  if (!key) throw std::logic_error("state record key id not in the keyring");
  AuthTag tag;
  crypto_generichash(uc(tag.data()), tag.size(), uc(mac_input.data()), mac_input.size(), key->state_mac.data(),
                     key->state_mac.size());
  return tag;
}

AuthResult Keyring::check_state_record(const StateRecordAuth& auth, std::span<const std::byte> mac_input) const {
  if (!find(auth.key_id)) return AuthResult::unknown_key;
  AuthTag expected = state_record_tag(auth.key_id, mac_input);
  return crypto_verify_16(uc(expected.data()), uc(auth.tag.data())) == 0 ? AuthResult::accepted : AuthResult::bad_tag;
}

AuthResult authenticate_block(const Keyring* keys, std::span<std::byte> block, const BlockHeader& header,
                              const Uuid& volume) {
  if (!keys) return header.authenticated() ? AuthResult::no_key : AuthResult::accepted;
  return keys->open_block(block, header, volume);
}

size_t seal_state_record(StateRecord record, const Keyring* keys, std::span<std::byte> out) {
  if (!keys) {
    record.auth.reset();
    return encode_state_record(record, out);
  }
  StateRecordAuth& auth = record.auth ? *record.auth : record.auth.emplace();
  auth.key_id = keys->write_key_id();
  auth.tag = {};
  // The tag covers the encoded bytes before it; encoding again puts it in place, CRC last.
  size_t length = encode_state_record(record, out);
  auth.tag = keys->state_record_tag(auth.key_id, state_record_mac_input(out.first(length)));
  return encode_state_record(record, out);
}

AuthResult authenticate_state_record(const Keyring* keys, std::span<const std::byte> encoded,
                                     const StateRecord& decoded) {
  if (!keys) return decoded.auth ? AuthResult::no_key : AuthResult::accepted;
  if (!decoded.auth) return AuthResult::missing_tag;
  return keys->check_state_record(*decoded.auth, state_record_mac_input(encoded));
}

}  // namespace blockxport
