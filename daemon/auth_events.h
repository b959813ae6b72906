// Tells the admin when authentication rejects what the peer wrote: a key mismatch, keys on one
// side only, or someone writing the volume. The first of each kind at once, then at most one line
// a minute with the totals, so a forger cannot flood the journal; vnicctl status has the counters.
#pragma once

#include <string>

#include "blockxport/clock.h"
#include "blockxport/link.h"

namespace vnicd {

class AuthEventLog {
 public:
  void check(const blockxport::Link& link, const std::string& ifname, blockxport::TimePoint now);

 private:
  struct Seen {
    uint64_t records = 0, blocks = 0, blocks_no_key = 0;
  };
  Seen logged_;
  blockxport::TimePoint next_log_{};
};

// One line for the log: "key id 1a2b3c4d, accepting 5e6f7a8b, frames encrypted", or "off".
std::string describe_keys(const blockxport::Keyring* keys);

}  // namespace vnicd
