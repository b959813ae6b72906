// Reading and checking a volume's superblock against the volume it sits on.
#pragma once

#include <optional>
#include <string>

#include "blockxport/format.h"
#include "blockxport/volume.h"

namespace blockxport {

struct SuperblockProbe {
  std::optional<Superblock> superblock;
  bool unformatted = false;  // all zeros: nothing there yet, which is not an error for a peer
  std::string problem;       // "PATH: what is wrong", when there is no superblock
};

// Reads the superblock and checks it fits the volume (size, logical block size).
SuperblockProbe probe_formatted_superblock(const Volume& volume);
// The same, but anything short of a usable superblock throws VolumeError with the problem.
Superblock read_formatted_superblock(const Volume& volume);

}  // namespace blockxport
