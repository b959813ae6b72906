// `vnic-bench lab --rounds N` measures every path N times, interleaved, because on a shared
// machine one path measured once can land on a quiet minute and the next on a busy one. This folds
// the rounds back into one report: each figure is the median of its rounds, and each ratio the
// median of the ratios taken inside each round (the pairs measured minutes apart, not an hour).
#pragma once

#include <vector>

#include <nlohmann/json.hpp>

namespace vnic_bench {

// The rounds' documents, of one shape, folded leaf by leaf:
//  - numbers: the median of the rounds that have one (an odd count gives the middle round's own
//    value, an even count the mean of the two middle ones); null when no round has one;
//  - objects: key by key, over the union of the rounds' keys, in the order first seen;
//    a "histogram" object is the RTT histograms merged (every sample of every round);
//  - anything else (strings, booleans, arrays): the first round's value.
nlohmann::ordered_json median_of_rounds(const std::vector<nlohmann::ordered_json>& rounds);

// Round r's vnic and veth ratios: `round_ends[r]` is an `end` object with the paths' results of
// round r and the floor. Returns {by_round: [ratios...], median: the ratios' median_of_rounds}.
nlohmann::ordered_json ratios_over_rounds(const std::vector<nlohmann::ordered_json>& round_ends);

}  // namespace vnic_bench
