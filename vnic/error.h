#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace vnic {

// Every failure of the vnic library, worded "IFNAME: what failed: why" so a
// log line alone tells an operator which interface broke and how.
class Error : public std::runtime_error {
 public:
  Error(std::string_view ifname, std::string_view action, std::string_view reason);
  // For failures that need no separate action: "IFNAME: message".
  Error(std::string_view ifname, std::string_view message);

  const std::string& ifname() const noexcept { return ifname_; }

 private:
  std::string ifname_;
};

// "IFNAME: action: strerror(errnum)".
[[noreturn]] void throw_errno(std::string_view ifname, std::string_view action, int errnum);

}  // namespace vnic
