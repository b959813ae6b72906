// vnicctl keygen: writes a new random key file for authenticated (and encrypted) blocks.
#include <memory>
#include <string>

#include <fmt/format.h>

#include "blockxport/block_auth.h"
#include "blockxport/key_file.h"
#include "tools/vnicctl/commands.h"

namespace vnicctl {
namespace {

struct KeygenArgs {
  std::string path;
  bool force = false;
};

int run_keygen(const KeygenArgs& args) {
  blockxport::SecretKey key = blockxport::generate_key();
  blockxport::write_key_file(args.path, key, args.force);
  // The key id is what vnicd logs and `vnicctl status` shows: how to tell keys apart by eye.
  fmt::print("wrote {}: a new key, id {:08x}, mode 0600\n", args.path, blockxport::key_id_of(key));
  return 0;
}

}  // namespace

vnic_tools::Subcommand add_keygen_command(CLI::App& app) {
  auto args = std::make_shared<KeygenArgs>();
  CLI::App* cmd = app.add_subcommand("keygen", "Write a new random key to PATH (mode 0600) for --key-file.");
  cmd->add_option("PATH", args->path, "Key file to create; copy it to the peer over a secure channel")->required();
  cmd->add_flag("--force", args->force, "Replace an existing PATH (its key is lost)");
  cmd->footer(
      "The file is one line, 'vnic-key-v1' and 64 hex digits. vnicd refuses a key file that is not mode 0600 "
      "or not owned by the user it runs as. See docs/SECURITY.md for a rolling key change.");
  return {cmd, [args] { return run_keygen(*args); }};
}

}  // namespace vnicctl
