// Least privilege: once the TAP, the volumes and the control socket are open, vnicd needs only
// CAP_NET_ADMIN (TUNSETCARRIER and rtnetlink link changes) and the descriptors it already holds.
// These helpers resolve the accounts named in the configuration and drop everything else.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "daemon/config.h"

namespace vnicd {

// Who vnicd becomes after setup: `user`, and `group` or else the user's primary group.
struct RunAs {
  uid_t uid = 0;
  gid_t gid = 0;
  std::string user;
  std::string group;
};

// Resolves `user` and `group`; nullopt without `user`. Throws ConfigError naming the key when an
// account does not exist here, or when `group` is given without `user`.
std::optional<RunAs> resolve_run_as(const Config& config);

// Resolves `control_socket_group`; nullopt without it. Throws ConfigError naming the key.
std::optional<gid_t> resolve_socket_group(const Config& config);

// Both of the above, for validate(): every account name is checked before anything is created.
void check_account_options(const Config& config);

// While alive, file access is checked as `run_as` (setfsuid/setfsgid) if the process may still
// switch, i.e. before the drop; otherwise it changes nothing. Files that belong to the user vnicd
// runs as (key files) are then read the same way at start and on SIGHUP after the drop.
class FilesystemIdentity {
 public:
  explicit FilesystemIdentity(const std::optional<RunAs>& run_as);
  ~FilesystemIdentity();
  FilesystemIdentity(const FilesystemIdentity&) = delete;
  FilesystemIdentity& operator=(const FilesystemIdentity&) = delete;

 private:
  std::optional<int> old_uid_, old_gid_;
};

// Becomes `run_as` (if given) with no supplementary groups, keeping only CAP_NET_ADMIN in the
// effective and permitted sets, nothing inheritable or ambient, an empty bounding set (when
// CAP_SETPCAP allows clearing it) and no_new_privs. Returns one line saying what was kept, for
// the log. Throws std::runtime_error with one line naming what failed.
std::string drop_privileges(const std::optional<RunAs>& run_as);

// After the drop: SIGHUP re-reads the config file as the user vnicd now runs as. Returns a warning
// when that user cannot read it (the reload would be refused), nullopt when all is well.
std::optional<std::string> reload_warning(const Config& config);

}  // namespace vnicd
