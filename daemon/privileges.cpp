#include "daemon/privileges.h"

#include <cap-ng.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>

namespace vnicd {
namespace {

struct UserEntry {
  uid_t uid;
  gid_t primary_gid;
};

size_t initial_buffer(int name) {
  long size = ::sysconf(name);
  return size > 0 ? static_cast<size_t>(size) : 16384;
}

// getpwnam_r/getgrnam_r: a lookup error (NSS unreachable, ...) is not "no such account".
std::optional<UserEntry> find_user(const std::string& key, const std::string& name) {
  std::vector<char> buffer(initial_buffer(_SC_GETPW_R_SIZE_MAX));
  passwd entry{}, *found = nullptr;
  int rc;
  while ((rc = ::getpwnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found)) == ERANGE)
    buffer.resize(buffer.size() * 2);
  if (rc != 0) throw ConfigError(fmt::format("{} '{}': cannot look the user up: {}", key, name, std::strerror(rc)));
  if (!found) return std::nullopt;
  return UserEntry{entry.pw_uid, entry.pw_gid};
}

std::optional<gid_t> find_group(const std::string& key, const std::string& name) {
  std::vector<char> buffer(initial_buffer(_SC_GETGR_R_SIZE_MAX));
  group entry{}, *found = nullptr;
  int rc;
  while ((rc = ::getgrnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found)) == ERANGE)
    buffer.resize(buffer.size() * 2);
  if (rc != 0) throw ConfigError(fmt::format("{} '{}': cannot look the group up: {}", key, name, std::strerror(rc)));
  if (!found) return std::nullopt;
  return entry.gr_gid;
}

// The name of a primary group, for the log; its number when it has none.
std::string group_name(gid_t gid) {
  std::vector<char> buffer(initial_buffer(_SC_GETGR_R_SIZE_MAX));
  group entry{}, *found = nullptr;
  int rc;
  while ((rc = ::getgrgid_r(gid, &entry, buffer.data(), buffer.size(), &found)) == ERANGE)
    buffer.resize(buffer.size() * 2);
  return rc == 0 && found ? std::string(entry.gr_name) : std::to_string(gid);
}

bool already_is(const RunAs& target) {
  uid_t ruid, euid, suid;
  gid_t rgid, egid, sgid;
  ::getresuid(&ruid, &euid, &suid);
  ::getresgid(&rgid, &egid, &sgid);
  bool uids = ruid == target.uid && euid == target.uid && suid == target.uid;
  bool gids = rgid == target.gid && egid == target.gid && sgid == target.gid;
  return uids && gids && ::getgroups(0, nullptr) == 0;
}

// Reads the kernel's view back: whatever libcap-ng did, the process must hold nothing but
// CAP_NET_ADMIN now, in any set.
void verify_only_net_admin() {
  if (capng_get_caps_process() != 0) throw std::runtime_error("privileges: cannot read back the capabilities");
  if (!capng_have_capability(CAPNG_EFFECTIVE, CAP_NET_ADMIN))
    throw std::runtime_error("privileges: CAP_NET_ADMIN was lost while dropping the others");
  for (unsigned cap = 0; cap <= CAP_LAST_CAP; ++cap) {
    if (cap == CAP_NET_ADMIN) continue;
    for (auto set : {CAPNG_EFFECTIVE, CAPNG_PERMITTED, CAPNG_INHERITABLE, CAPNG_AMBIENT})
      if (capng_have_capability(set, cap))
        throw std::runtime_error(
            fmt::format("privileges: {} is still held after the drop", capng_capability_to_name(cap)));
  }
}

}  // namespace

std::optional<RunAs> resolve_run_as(const Config& c) {
  if (!c.user) {
    if (c.group)
      throw ConfigError(fmt::format("group '{}': only together with user (the account vnicd runs as)", *c.group));
    return std::nullopt;
  }
  auto user = find_user("user", *c.user);
  if (!user) throw ConfigError(fmt::format("user '{}': no such user on this system", *c.user));
  RunAs run_as{user->uid, user->primary_gid, *c.user, {}};
  if (c.group) {
    auto gid = find_group("group", *c.group);
    if (!gid) throw ConfigError(fmt::format("group '{}': no such group on this system", *c.group));
    run_as.gid = *gid;
    run_as.group = *c.group;
  } else {
    run_as.group = group_name(run_as.gid);
  }
  return run_as;
}

std::optional<gid_t> resolve_socket_group(const Config& c) {
  if (!c.control_socket_group) return std::nullopt;
  auto gid = find_group("control_socket_group", *c.control_socket_group);
  if (!gid)
    throw ConfigError(fmt::format("control_socket_group '{}': no such group on this system", *c.control_socket_group));
  return gid;
}

void check_account_options(const Config& c) {
  resolve_run_as(c);
  resolve_socket_group(c);
}

FilesystemIdentity::FilesystemIdentity(const std::optional<RunAs>& run_as) {
  // Unprivileged, setfsuid/setfsgid cannot switch and report the old value: nothing to undo then.
  if (!run_as || ::geteuid() != 0) return;
  old_gid_ = ::setfsgid(run_as->gid);
  old_uid_ = ::setfsuid(run_as->uid);
}

FilesystemIdentity::~FilesystemIdentity() {
  if (old_uid_) ::setfsuid(static_cast<uid_t>(*old_uid_));
  if (old_gid_) ::setfsgid(static_cast<gid_t>(*old_gid_));
}

std::optional<std::string> reload_warning(const Config& c) {
  if (!c.config_path) return std::nullopt;
  int fd = ::open(c.config_path->c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    ::close(fd);
    return std::nullopt;
  }
  return fmt::format(
      "config {}: cannot be read after the drop ({}): SIGHUP will keep the running configuration; "
      "make it readable by the user vnicd runs as",
      *c.config_path, std::strerror(errno));
}

std::string drop_privileges(const std::optional<RunAs>& run_as) {
  if (capng_get_caps_process() != 0) throw std::runtime_error("privileges: cannot read this process's capabilities");
  if (!capng_have_capability(CAPNG_PERMITTED, CAP_NET_ADMIN))
    throw std::runtime_error("privileges: CAP_NET_ADMIN is not permitted, yet carrier and link changes need it");
  // Clearing the bounding set needs CAP_SETPCAP; without it (a service manager already narrowed
  // the set) the set stays as it was given, and no_new_privs still keeps execve from using it.
  bool clear_bounding = capng_have_capability(CAPNG_PERMITTED, CAP_SETPCAP);
  bool switch_ids = run_as && !already_is(*run_as);
  if (switch_ids &&
      !(capng_have_capability(CAPNG_PERMITTED, CAP_SETUID) && capng_have_capability(CAPNG_PERMITTED, CAP_SETGID)))
    throw std::runtime_error(
        fmt::format("user '{}': switching to it needs CAP_SETUID and CAP_SETGID (start vnicd as root)", run_as->user));

  capng_clear(CAPNG_SELECT_ALL);
  capng_update(CAPNG_ADD, static_cast<capng_type_t>(CAPNG_EFFECTIVE | CAPNG_PERMITTED), CAP_NET_ADMIN);
  if (switch_ids) {
    // setresgid, setgroups(0) and setresuid with keep-caps, then the capability sets above.
    int flags = CAPNG_DROP_SUPP_GRP | CAPNG_CLEAR_AMBIENT | (clear_bounding ? CAPNG_CLEAR_BOUNDING : 0);
    errno = 0;
    int rc = capng_change_id(static_cast<int>(run_as->uid), static_cast<int>(run_as->gid),
                             static_cast<capng_flags_t>(flags));
    if (rc != 0)
      throw std::runtime_error(fmt::format("user '{}': cannot switch to uid {} gid {}: {} (libcap-ng step {})",
                                           run_as->user, run_as->uid, run_as->gid, std::strerror(errno), -rc));
  } else {
    int select = CAPNG_SELECT_CAPS | CAPNG_SELECT_AMBIENT | (clear_bounding ? CAPNG_SELECT_BOUNDS : 0);
    if (capng_apply(static_cast<capng_select_t>(select)) != 0)
      throw std::runtime_error(fmt::format("privileges: cannot drop capabilities: {}", std::strerror(errno)));
  }
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    throw std::runtime_error(fmt::format("privileges: cannot set no_new_privs: {}", std::strerror(errno)));
  verify_only_net_admin();

  bool bounding_empty = true;
  for (unsigned cap = 0; cap <= CAP_LAST_CAP; ++cap)
    if (capng_have_capability(CAPNG_BOUNDING_SET, cap)) bounding_empty = false;
  std::string who = run_as ? fmt::format("{}:{} (uid {}, gid {}), no supplementary groups", run_as->user, run_as->group,
                                         run_as->uid, run_as->gid)
                           : fmt::format("uid {} (no user configured)", ::getuid());
  return fmt::format("privileges: running as {}; kept CAP_NET_ADMIN only (carrier and link changes), {}, no_new_privs",
                     who, bounding_empty ? "bounding set empty" : "bounding set left as given (no CAP_SETPCAP)");
}

}  // namespace vnicd
