// The server side of the request/response test: answers every well-formed request at once with
// the same bytes, one at a time (the client sends the next only after this answer arrives).
#pragma once

#include <cstdint>
#include <functional>

namespace vnic_bench {

// Runs until SIGINT/SIGTERM; returns how many requests it answered. Anything that is not a
// vnic-bench request is ignored. `every_tick` runs at least every 100 ms (the server checks its
// iperf3 there); an exception from it ends the loop.
uint64_t serve_rr(int fd, const std::function<void()>& every_tick);

}  // namespace vnic_bench
