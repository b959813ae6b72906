// A visible skip for Catch2 v2 tests, which has no SKIP of its own (Debian 12 ships 2.13).
// VNIC_SKIP prints one "VNIC-SKIP: <reason>" line and leaves the test case; every
// catch_discover_tests call gives its tests SKIP_REGULAR_EXPRESSION "VNIC-SKIP:", so CTest reports
// the test as Skipped instead of counting a test that did nothing as passed, and scripts/test.sh
// fails the run on it. Use it only when a prerequisite of the environment is missing (root, a
// device, a kernel feature), never for something the code under test got wrong.
#pragma once

#include <iostream>
#include <sstream>
#include <string>

namespace vnic_test {

inline void report_skip(const std::string& reason) { std::cout << "VNIC-SKIP: " << reason << std::endl; }

}  // namespace vnic_test

// VNIC_SKIP("needs root") or VNIC_SKIP("no " << path): anything that streams into std::ostream.
#define VNIC_SKIP(...)                                     \
  do {                                                     \
    std::ostringstream vnic_skip_reason;                   \
    vnic_skip_reason << __VA_ARGS__;                       \
    ::vnic_test::report_skip(vnic_skip_reason.str());      \
    return;                                                \
  } while (false)
