// Per-engine constructors, private to blockxport_io: callers go through make_io_engine() so that
// the fallback order and error reporting live in one place.
#pragma once

#include <memory>

#include "blockxport/io_engine.h"

namespace blockxport {

// Each throws IoEngineError naming the engine and the errno when the kernel refuses to set it up.
std::unique_ptr<IoEngine> make_uring_engine(const EngineOptions& options);
std::unique_ptr<IoEngine> make_aio_engine(const EngineOptions& options);
std::unique_ptr<IoEngine> make_sync_engine(const EngineOptions& options);

}  // namespace blockxport
