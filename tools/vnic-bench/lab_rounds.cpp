#include "tools/vnic-bench/lab_rounds.h"

#include <algorithm>
#include <string>

#include "tools/vnic-bench/lab_report.h"
#include "tools/vnic-bench/rtt_histogram.h"

namespace vnic_bench {
namespace {

using nlohmann::ordered_json;

ordered_json median_of_numbers(std::vector<ordered_json> numbers) {
  std::sort(numbers.begin(), numbers.end(),
            [](const ordered_json& a, const ordered_json& b) { return a.get<double>() < b.get<double>(); });
  size_t middle = numbers.size() / 2;
  if (numbers.size() % 2 == 1) return numbers[middle];
  return (numbers[middle - 1].get<double>() + numbers[middle].get<double>()) / 2;
}

ordered_json merged_histograms(const std::vector<ordered_json>& histograms) {
  RttHistogram all;
  bool any = false;
  for (const ordered_json& h : histograms) {
    if (h.is_null()) continue;
    all.merge(RttHistogram::from_json(h));
    any = true;
  }
  return any ? all.to_json() : ordered_json(nullptr);
}

}  // namespace

ordered_json median_of_rounds(const std::vector<ordered_json>& rounds) {
  if (rounds.empty()) return nullptr;
  bool all_objects = std::all_of(rounds.begin(), rounds.end(), [](const ordered_json& r) { return r.is_object(); });
  if (all_objects) {
    ordered_json out = ordered_json::object();
    for (const ordered_json& round : rounds) {
      for (const auto& [key, unused] : round.items()) {
        if (out.contains(key)) continue;
        std::vector<ordered_json> same;
        for (const ordered_json& r : rounds)
          if (r.contains(key)) same.push_back(r.at(key));
        out[key] = key == "histogram" ? merged_histograms(same) : median_of_rounds(same);
      }
    }
    return out;
  }
  bool numeric = std::all_of(rounds.begin(), rounds.end(),
                             [](const ordered_json& r) { return r.is_number() || r.is_null(); });
  if (!numeric) return rounds.front();
  std::vector<ordered_json> numbers;
  std::copy_if(rounds.begin(), rounds.end(), std::back_inserter(numbers),
               [](const ordered_json& r) { return r.is_number(); });
  if (numbers.empty()) return nullptr;
  return median_of_numbers(std::move(numbers));
}

ordered_json ratios_over_rounds(const std::vector<ordered_json>& round_ends) {
  std::vector<ordered_json> each;
  for (const ordered_json& end : round_ends) each.push_back(compute_ratios(end));
  return {{"by_round", each}, {"median", median_of_rounds(each)}};
}

}  // namespace vnic_bench
