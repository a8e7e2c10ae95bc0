// Internal: the intake's counters, and the Prometheus text exposition of them that node_exporter's
// textfile collector reads (docs/intake.md, Metrics).
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace mamsign::intake {

struct Counters {
  std::uint64_t accepted = 0;
  std::map<std::string, std::uint64_t> rejected;  // by reason code
  std::uint64_t errors = 0;                       // groups that could not be moved, reloads that failed
  std::uint64_t reloads = 0;
  std::uint64_t rescans = 0, overflows = 0;
  double start_time = 0, last_move_time = 0;  // Unix seconds
};

struct Gauges {
  std::size_t waiting = 0, in_flight = 0;
  double oldest_waiting_seconds = 0;
  bool paused = false;
  std::uint64_t ledger_entries = 0;
};

// The whole file: HELP and TYPE lines, then samples; `extra` (the app's own lines) appended as given.
std::string prometheus_text(const Counters& c, const Gauges& g, const std::string& extra);

}  // namespace mamsign::intake
