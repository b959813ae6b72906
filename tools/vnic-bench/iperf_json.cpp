#include "tools/vnic-bench/iperf_json.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace vnic_bench {
namespace {

using nlohmann::json;

const json& at_path(const json& doc, std::initializer_list<const char*> keys) {
  const json* node = &doc;
  std::string path;
  for (const char* key : keys) {
    path += path.empty() ? key : fmt::format(".{}", key);
    if (!node->is_object() || !node->contains(key))
      throw std::runtime_error(fmt::format("iperf3: no {} in its output", path));
    node = &(*node)[key];
  }
  return *node;
}

double rate(double count, double seconds) { return seconds > 0 ? count / seconds : 0.0; }

}  // namespace

json parse_iperf_output(std::string_view text) {
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::parse_error&) {
    std::string start(text.substr(0, 120));
    for (char& c : start)
      if (c == '\n') c = ' ';
    throw std::runtime_error(fmt::format("iperf3: output is not JSON: {}", start.empty() ? "(nothing)" : start));
  }
  if (!doc.is_object()) throw std::runtime_error("iperf3: output is not a JSON object");
  if (doc.contains("error") && doc["error"].is_string())
    throw std::runtime_error("iperf3: " + doc["error"].get<std::string>());
  return doc;
}

TcpResult tcp_result_from(const json& doc) {
  const json& received = at_path(doc, {"end", "sum_received"});
  const json& sent = at_path(doc, {"end", "sum_sent"});
  TcpResult r;
  r.streams = static_cast<unsigned>(at_path(doc, {"start", "test_start", "num_streams"}).get<uint64_t>());
  r.gbit_per_s = at_path(received, {"bits_per_second"}).get<double>() / 1e9;
  r.sender_gbit_per_s = at_path(sent, {"bits_per_second"}).get<double>() / 1e9;
  r.bytes = at_path(received, {"bytes"}).get<uint64_t>();
  r.seconds = at_path(received, {"seconds"}).get<double>();
  r.retransmits = sent.value("retransmits", uint64_t{0});
  return r;
}

UdpResult udp_result_from(const json& doc) {
  UdpResult r;
  r.payload_bytes = static_cast<uint32_t>(at_path(doc, {"start", "test_start", "blksize"}).get<uint64_t>());
  const json& end = at_path(doc, {"end"});
  if (end.contains("sum_sent") && end.contains("sum_received")) {
    const json& sent = end["sum_sent"];
    const json& received = end["sum_received"];
    r.sent_frames = at_path(sent, {"packets"}).get<uint64_t>();
    r.sent_seconds = at_path(sent, {"seconds"}).get<double>();
    // The receiver's "packets" is the highest sequence it saw; the gaps below it are lost_packets.
    uint64_t seen = at_path(received, {"packets"}).get<uint64_t>();
    uint64_t lost = at_path(received, {"lost_packets"}).get<uint64_t>();
    r.received_frames = seen > lost ? seen - lost : 0;
    r.received_seconds = at_path(received, {"seconds"}).get<double>();
  } else {
    const json& sum = at_path(end, {"sum"});
    r.sent_frames = at_path(sum, {"packets"}).get<uint64_t>();
    uint64_t lost = at_path(sum, {"lost_packets"}).get<uint64_t>();
    r.received_frames = r.sent_frames > lost ? r.sent_frames - lost : 0;
    r.sent_seconds = r.received_seconds = at_path(sum, {"seconds"}).get<double>();
  }
  r.sent_frames_per_s = rate(static_cast<double>(r.sent_frames), r.sent_seconds);
  r.received_frames_per_s = rate(static_cast<double>(r.received_frames), r.received_seconds);
  r.loss_percent = r.sent_frames == 0
                       ? 0.0
                       : 100.0 * static_cast<double>(r.sent_frames - std::min(r.sent_frames, r.received_frames)) /
                             static_cast<double>(r.sent_frames);
  r.received_gbit_per_s = r.received_frames_per_s * r.payload_bytes * 8 / 1e9;
  return r;
}

}  // namespace vnic_bench
