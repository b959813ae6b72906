#include "blockxport/key_file.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace blockxport {
namespace {

constexpr size_t kHexDigits = 2 * kKeyBytes;
// Larger than any well-formed key file, so a huge file is refused without reading it all.
constexpr size_t kMaxKeyFileBytes = 256;

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw KeyFileError(fmt::format("key file {}: {}", path, what));
}

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

void write_all(const std::string& path, int fd, std::string_view text) {
  while (!text.empty()) {
    ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail(path, fmt::format("cannot write: {}", std::strerror(errno)));
    text.remove_prefix(static_cast<size_t>(n));
  }
  if (::fsync(fd) != 0) fail(path, fmt::format("cannot sync: {}", std::strerror(errno)));
}

}  // namespace

std::string encode_key_file(const SecretKey& key) {
  char hex[kHexDigits + 1];
  sodium_bin2hex(hex, sizeof(hex), key.bytes.data(), key.bytes.size());
  std::string text = fmt::format("{} {}\n", kKeyFileMagic, std::string_view(hex, kHexDigits));
  sodium_memzero(hex, sizeof(hex));
  return text;
}

std::optional<SecretKey> parse_key_file(std::string_view text) {
  if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  if (text.size() != kKeyFileMagic.size() + 1 + kHexDigits || text.substr(0, kKeyFileMagic.size()) != kKeyFileMagic ||
      text[kKeyFileMagic.size()] != ' ')
    return std::nullopt;
  std::string_view hex = text.substr(kKeyFileMagic.size() + 1);
  for (char c : hex)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) return std::nullopt;
  SecretKey key;
  size_t length = 0;
  if (sodium_hex2bin(key.bytes.data(), key.bytes.size(), hex.data(), hex.size(), nullptr, &length, nullptr) != 0 ||
      length != kKeyBytes)
    return std::nullopt;
  return key;
}

SecretKey read_key_file(const std::string& path, uid_t owner) {
  // Checked on the open descriptor, so what is checked is what is read.
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (fd.get() < 0) fail(path, fmt::format("cannot open: {}", std::strerror(errno)));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) fail(path, fmt::format("cannot stat: {}", std::strerror(errno)));
  if (!S_ISREG(st.st_mode)) fail(path, "not a regular file");
  if ((st.st_mode & 077) != 0)
    fail(path, fmt::format("mode {:04o} lets group or others at the key: it must be 0600 (chmod 600 {})",
                           st.st_mode & 07777, path));
  if (st.st_uid != owner)
    fail(path, fmt::format("owned by uid {}, but vnicd runs as uid {}: it must own its key (chown)", st.st_uid, owner));
  char buffer[kMaxKeyFileBytes];
  size_t length = 0;
  for (;;) {
    ssize_t n = ::read(fd.get(), buffer + length, sizeof(buffer) - length);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail(path, fmt::format("cannot read: {}", std::strerror(errno)));
    if (n == 0 || length + static_cast<size_t>(n) == sizeof(buffer)) {
      length += static_cast<size_t>(n);
      break;
    }
    length += static_cast<size_t>(n);
  }
  auto key = parse_key_file(std::string_view(buffer, length));
  sodium_memzero(buffer, sizeof(buffer));
  if (!key)
    fail(path, fmt::format("not a vnic key: expected one line '{} ' and {} hex digits (vnicctl keygen writes one)",
                           kKeyFileMagic, kHexDigits));
  return *key;
}

void write_key_file(const std::string& path, const SecretKey& key, bool force) {
  std::string text = encode_key_file(key);
  if (!force) {
    // O_EXCL: an existing file (or a symlink planted there) is never written through.
    FileDescriptor fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (fd.get() < 0) {
      if (errno == EEXIST) fail(path, "already exists; --force replaces it (the old key is lost)");
      fail(path, fmt::format("cannot create: {}", std::strerror(errno)));
    }
    if (::fchmod(fd.get(), 0600) != 0) fail(path, fmt::format("cannot chmod: {}", std::strerror(errno)));
    write_all(path, fd.get(), text);
    sodium_memzero(text.data(), text.size());
    return;
  }
  std::string temporary = fmt::format("{}.tmp-{}", path, ::getpid());
  {
    FileDescriptor fd(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (fd.get() < 0) fail(path, fmt::format("cannot create {}: {}", temporary, std::strerror(errno)));
    try {
      if (::fchmod(fd.get(), 0600) != 0) fail(path, fmt::format("cannot chmod: {}", std::strerror(errno)));
      write_all(path, fd.get(), text);
    } catch (...) {
      ::unlink(temporary.c_str());
      throw;
    }
  }
  sodium_memzero(text.data(), text.size());
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    int error = errno;
    ::unlink(temporary.c_str());
    fail(path, fmt::format("cannot replace: {}", std::strerror(error)));
  }
}

std::shared_ptr<const Keyring> load_keyring(const KeyFiles& files, uid_t owner) {
  if (!files.key_file) return nullptr;
  SecretKey write_key = read_key_file(*files.key_file, owner);
  std::optional<SecretKey> accept_key;
  if (files.accept_key_file) accept_key = read_key_file(*files.accept_key_file, owner);
  try {
    return std::make_shared<const Keyring>(write_key, accept_key ? &*accept_key : nullptr, files.encrypt);
  } catch (const std::invalid_argument& e) {
    fail(*files.accept_key_file, e.what());
  }
}

}  // namespace blockxport
