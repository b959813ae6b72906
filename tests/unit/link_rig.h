// A link run by a test: frames sent through it and read back, once its reader has joined.
#pragma once

#include <chrono>
#include <span>
#include <vector>

#include "blockxport/link.h"
#include "transport_rig.h"

namespace vnic_test {

// Sends `count` frames through the link and runs it until all are back (or time is up).
inline void pump_frames(blockxport::Link& link, CheckingSink& sink, uint64_t first, size_t count, size_t size) {
  std::vector<Bytes> frames;
  for (size_t i = 0; i < count; ++i) {
    frames.push_back(indexed_frame(first + i, size));
    sink.sizes[first + i] = size;
  }
  std::vector<blockxport::FrameSpan> views(frames.begin(), frames.end());
  size_t want = sink.indices.size() + count, done = 0;
  auto deadline = blockxport::Clock::now() + std::chrono::seconds(10);
  // Until the reader has joined, what is sent is old traffic to it and is skipped by design.
  while (!link.joined() && blockxport::Clock::now() < deadline) link.run_once(sink, std::chrono::milliseconds(1));
  while ((done < views.size() || sink.indices.size() < want) && blockxport::Clock::now() < deadline) {
    if (done < views.size()) done += link.send(std::span(views).subspan(done), blockxport::Clock::now());
    link.run_once(sink, std::chrono::microseconds(100));
  }
}

}  // namespace vnic_test
