// The mirror's I/O: batches of reads waited for together, and writes left in flight, on one
// blockxport engine (io_uring where allowed). The virtual disks this runs on answer a single
// O_DIRECT request in ~130 us however small it is, so a mirror doing one request at a time falls
// behind a writer that keeps eight in flight; in parallel, it keeps up.
#pragma once

#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "blockxport/aligned_buffer.h"
#include "blockxport/clock.h"
#include "blockxport/io_engine.h"

namespace vnic_fault {

struct MirrorRead {
  uint64_t offset = 0;
  uint32_t length = 0;
  std::shared_ptr<blockxport::AlignedBuffer> buffer;  // filled by read_all
  int32_t result = 0;
};

class MirrorIo {
 public:
  MirrorIo(int src_fd, int dst_fd);
  ~MirrorIo();

  // Reads every request from the source at once and returns when all have completed; writes
  // that complete meanwhile are retired.
  void read_all(std::vector<MirrorRead>& reads);
  // Starts a write of buffer[begin, begin + length) to the destination at offset + begin. `key`
  // names what it writes (a ring position, or the state table) so that writes to the same place
  // never overtake each other: busy(key) is true until it completes. False when the engine is full.
  bool write(uint64_t key, std::shared_ptr<blockxport::AlignedBuffer> buffer, uint32_t begin, uint32_t length,
             uint64_t offset);
  bool busy(uint64_t key) const { return busy_.count(key) != 0; }
  size_t writes_in_flight() const { return writes_.size(); }
  // Retires finished writes, waiting up to `wait` for the first; throws if one failed.
  void poll(blockxport::Nanos wait);
  void drain();

 private:
  struct Write {
    uint64_t key;
    std::shared_ptr<blockxport::AlignedBuffer> buffer;
    uint32_t length;
    uint64_t offset;
  };
  void complete(const blockxport::IoCompletion& done, std::vector<MirrorRead>* reads);

  int src_fd_;
  int dst_fd_;
  std::unique_ptr<blockxport::IoEngine> engine_;
  std::unordered_map<uint64_t, Write> writes_;  // by tag
  std::unordered_map<uint64_t, unsigned> busy_;
  uint64_t next_tag_ = 1;
  size_t reads_pending_ = 0;
};

}  // namespace vnic_fault
