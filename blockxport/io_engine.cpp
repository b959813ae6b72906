#include "blockxport/io_engine.h"

#include <fmt/format.h>

#include <stdexcept>
#include <string>

#include "blockxport/io_engine_factories.h"
#include "blockxport/io_engine_fault.h"

namespace blockxport {

std::string_view engine_kind_name(EngineKind kind) {
  switch (kind) {
    case EngineKind::automatic:
      return "auto";
    case EngineKind::io_uring:
      return "io_uring";
    case EngineKind::libaio:
      return "libaio";
    case EngineKind::sync:
      return "sync";
  }
  return "unknown";
}

EngineKind parse_engine_kind(std::string_view text) {
  for (EngineKind kind : {EngineKind::automatic, EngineKind::io_uring, EngineKind::libaio, EngineKind::sync}) {
    if (text == engine_kind_name(kind)) return kind;
  }
  throw std::invalid_argument(fmt::format("unknown I/O engine '{}' (expected auto, io_uring, libaio or sync)", text));
}

namespace {

std::unique_ptr<IoEngine> make_real_engine(EngineKind kind, const EngineOptions& options) {
  // Every engine sizes its rings and completion queues from the depth; zero would make a ring
  // that can never accept anything, which is always a caller bug.
  if (options.depth == 0) throw IoEngineError("I/O engine depth must be at least 1");

  switch (kind) {
    case EngineKind::io_uring:
      return make_uring_engine(options);
    case EngineKind::libaio:
      return make_aio_engine(options);
    case EngineKind::sync:
      return make_sync_engine(options);
    case EngineKind::automatic:
      break;
  }

  // Containers commonly block io_uring (seccomp, io_uring_disabled) and sometimes aio too; keep
  // every reason so a total failure explains itself instead of reporting only the last engine.
  std::string reasons;
  for (auto* factory : {&make_uring_engine, &make_aio_engine, &make_sync_engine}) {
    try {
      return factory(options);
    } catch (const IoEngineError& error) {
      if (!reasons.empty()) reasons += "; ";
      reasons += error.what();
    }
  }
  throw IoEngineError("no I/O engine can be set up here: " + reasons);
}

}  // namespace

// Tests may wrap the real engine in a fault-injecting one (VNIC_FAULT_INJECT, io_engine_fault.h).
std::unique_ptr<IoEngine> make_io_engine(EngineKind kind, const EngineOptions& options) {
  return with_fault_injection(make_real_engine(kind, options));
}

}  // namespace blockxport
