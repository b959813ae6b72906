// A writer on a send volume and a reader on a separate receive volume, with the test playing the
// storage mirror between them: it copies blocks from one file to the other whole, torn, late or
// out of order. Both volumes are real files on disk, read and written with O_DIRECT.
#pragma once

#include <array>
#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <memory>
#include <vector>

#include <catch2/catch.hpp>

#include "../support/temp_file.h"
#include "blockxport/aligned_buffer.h"
#include "blockxport/io_engine_fault.h"
#include "blockxport/io_tags.h"
#include "blockxport/reader.h"
#include "blockxport/volume.h"
#include "blockxport/volume_check.h"
#include "blockxport/volume_format.h"
#include "blockxport/writer.h"
#include "codec_rig.h"

namespace vnic_test {

// Every frame carries its index in its first 8 bytes, then bytes derived from it.
inline Bytes indexed_frame(uint64_t index, size_t size) {
  Bytes frame = make_frame(std::max<size_t>(size, 8), index);
  std::memcpy(frame.data(), &index, 8);
  return frame;
}

struct CheckingSink : blockxport::FrameSink {
  std::vector<uint64_t> indices;
  uint64_t corrupt = 0;
  std::map<uint64_t, size_t> sizes;  // index -> size the sender used

  void deliver(std::span<const blockxport::FrameSpan> frames, const blockxport::BlockHeader&) override {
    for (auto f : frames) {
      uint64_t index = 0;
      if (f.size() >= 8) std::memcpy(&index, f.data(), 8);
      auto it = sizes.find(index);
      if (it == sizes.end() || it->second != f.size() ||
          !std::equal(f.begin(), f.end(), indexed_frame(index, f.size()).begin())) {
        ++corrupt;
        continue;
      }
      indices.push_back(index);
    }
  }
  // Delivered strictly in order, no duplicates.
  bool in_order() const {
    for (size_t i = 1; i < indices.size(); ++i)
      if (indices[i] <= indices[i - 1]) return false;
    return true;
  }
};

class MirrorRig {
 public:
  MirrorRig(uint32_t block_size, uint64_t ring_blocks,
            blockxport::EngineKind engine_kind = blockxport::EngineKind::automatic, unsigned queue_depth = 4,
            blockxport::ReaderOptions reader_options = fast_reader(),
            const blockxport::FaultInjection* faults = nullptr)
      : send_file_(blockxport::volume_bytes_needed(block_size, 1, ring_blocks), "send"),
        recv_file_(blockxport::volume_bytes_needed(block_size, 1, ring_blocks), "recv") {
    blockxport::FormatOptions format;
    format.block_size = block_size;
    format.ring_blocks = ring_blocks;
    superblock = blockxport::format_volume(send_file_.path(), format);
    send = std::make_unique<blockxport::Volume>(
        blockxport::Volume::open(send_file_.path(), {blockxport::VolumeAccess::read_write, false}));
    recv = std::make_unique<blockxport::Volume>(
        blockxport::Volume::open(recv_file_.path(), {blockxport::VolumeAccess::read_write, false}));
    copy_bytes(0, superblock.rings_offset());  // the mirror carries the format across
    engine = blockxport::make_io_engine(engine_kind, {queue_depth + reader_options.depth + 4, false});
    if (faults) engine = blockxport::make_fault_engine(std::move(engine), *faults);
    writer_options.queue_depth = queue_depth;
    start_writer(0x1111, 1);
    reader = std::make_unique<blockxport::BlockReader>(*engine, recv->fd(), superblock, 0, recv->logical_block_size(),
                                                       reader_options);
  }

  // Reads and writes still in flight land in the reader's and writer's buffers: the engine waits
  // for them (in its destructor) before those buffers are freed, not after.
  ~MirrorRig() { engine.reset(); }
  MirrorRig(const MirrorRig&) = delete;
  MirrorRig& operator=(const MirrorRig&) = delete;

  static blockxport::ReaderOptions fast_reader() {
    blockxport::ReaderOptions o;
    o.torn_timeout = std::chrono::milliseconds(20);
    o.max_interval = std::chrono::microseconds(200);
    return o;
  }

  void start_writer(uint64_t epoch, uint64_t first_sequence) {
    writer = std::make_unique<blockxport::BlockWriter>(*engine, send->fd(), superblock, 0, epoch, first_sequence,
                                                       writer_options);
    writer_epoch = epoch;
    writer_first = first_sequence;
  }

  blockxport::WriterView writer_view() const {
    auto now = blockxport::Clock::now();
    return {writer_epoch, writer_first, writer->durable_head(), blockxport::to_ns(now), now};
  }

  // Offers frames until all are taken, pumping completions in between. A writer that holds them
  // for good (waiting for an acknowledgement nobody gives) fails the test instead of hanging it.
  void send_frames(uint64_t first_index, size_t count, size_t size, CheckingSink& sink) {
    std::vector<Bytes> frames;
    for (size_t i = 0; i < count; ++i) {
      frames.push_back(indexed_frame(first_index + i, size));
      sink.sizes[first_index + i] = frames.back().size();
    }
    std::vector<blockxport::FrameSpan> views(frames.begin(), frames.end());
    size_t done = 0;
    auto deadline = blockxport::Clock::now() + std::chrono::seconds(10);
    while (done < views.size()) {
      if (blockxport::Clock::now() > deadline) FAIL("the writer held frames for 10 s");
      done += writer->send(std::span(views).subspan(done), blockxport::Clock::now());
      pump_writer();
    }
  }

  // The link's part in flow control: when the writer holds for a fresh acknowledgement, the
  // reader's record is read and `fresh_ack` says what it holds (nullopt: the read has not landed).
  std::function<std::optional<uint64_t>()> fresh_ack;
  uint64_t fresh_acks_given = 0;
  void answer_ack_request() {
    if (!writer->wants_fresh_ack() || !fresh_ack) return;
    if (auto ack = fresh_ack()) {
      writer->set_reader_progress(*ack, true, writer->ack_read_ticket());
      ++fresh_acks_given;
    }
  }

  // Reaps completions and lets the writer submit, until it has nothing left in flight.
  void drain_writer() {
    for (int i = 0; i < 100000 && !writer->idle(); ++i) {
      writer->flush_all(blockxport::Clock::now());
      pump_writer(std::chrono::milliseconds(1));
    }
  }

  void pump_writer(blockxport::Nanos wait = blockxport::Nanos{0}) {
    writer->flush(blockxport::Clock::now());
    reap(wait);
    answer_ack_request();
  }

  // `at`: the time the completions are handed over with (the test's own timeline); default now.
  void reap(blockxport::Nanos wait, std::optional<blockxport::TimePoint> at = std::nullopt) {
    std::array<blockxport::IoCompletion, 64> done;
    size_t n = engine->reap(done, engine->in_flight() > 0 ? wait : blockxport::Nanos{0});
    auto now = at.value_or(blockxport::Clock::now());
    for (size_t i = 0; i < n; ++i) {
      auto owner = blockxport::tag_owner(done[i].tag);
      auto index = blockxport::tag_index(done[i].tag);
      if (owner == blockxport::IoOwner::writer) writer->on_complete(index, done[i].result, now);
      if (owner == blockxport::IoOwner::reader) reader->on_complete(index, done[i].result, now);
    }
  }

  // Runs the reader for a while (until `until` says stop or the time is up).
  template <typename Done>
  void run_reader(CheckingSink& sink, Done until, std::chrono::milliseconds limit = std::chrono::milliseconds(3000)) {
    auto deadline = blockxport::Clock::now() + limit;
    while (blockxport::Clock::now() < deadline && !until()) {
      auto now = blockxport::Clock::now();
      reader->deliver(sink, now);
      reader->poll(now);
      writer->flush(now);
      reap(std::chrono::microseconds(200));
      reader->deliver(sink, blockxport::Clock::now());
    }
  }
  void run_reader_for(CheckingSink& sink, std::chrono::milliseconds duration) {
    run_reader(
        sink, [] { return false; }, duration);
  }

  // The mirror: copy the first `logical_blocks` logical blocks of sequence's ring position (all
  // of it by default) from the send volume to the receive volume.
  void mirror(uint64_t sequence, uint32_t logical_blocks = 0) {
    uint64_t offset = superblock.block_offset(0, sequence);
    uint32_t length = logical_blocks ? logical_blocks * recv->logical_block_size() : superblock.block_size;
    copy_bytes(offset, length);
  }
  void mirror_range(uint64_t from, uint64_t to) {
    for (uint64_t s = from; s < to; ++s) mirror(s);
  }
  void copy_bytes(uint64_t offset, uint64_t length) {
    blockxport::AlignedBuffer buffer(length, 4096);
    send->read_exact(buffer.data(), length, offset);
    recv->write_exact(buffer.data(), length, offset);
  }
  void flip_bit_on_receive_side(uint64_t sequence, uint64_t byte) {
    uint64_t offset = superblock.block_offset(0, sequence);
    blockxport::AlignedBuffer buffer(4096, 4096);
    uint64_t page = byte / 4096 * 4096;
    recv->read_exact(buffer.data(), 4096, offset + page);
    buffer.data()[byte - page] ^= std::byte{0x10};
    recv->write_exact(buffer.data(), 4096, offset + page);
  }

  blockxport::Superblock superblock;
  std::unique_ptr<blockxport::Volume> send;
  std::unique_ptr<blockxport::Volume> recv;
  std::unique_ptr<blockxport::IoEngine> engine;
  blockxport::WriterOptions writer_options;
  std::unique_ptr<blockxport::BlockWriter> writer;
  std::unique_ptr<blockxport::BlockReader> reader;
  uint64_t writer_epoch = 0;
  uint64_t writer_first = 1;

 private:
  TempFile send_file_;
  TempFile recv_file_;
};

}  // namespace vnic_test
