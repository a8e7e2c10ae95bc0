// The Prometheus text format (version 0.0.4): one HELP and one TYPE line per metric, then its samples.
#include "intake/metrics.h"

#include <cstdio>

namespace mamsign::intake {
namespace {

std::string number(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  return buf;
}

void metric(std::string& out, const char* name, const char* type, const char* help) {
  out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

}  // namespace

std::string prometheus_text(const Counters& c, const Gauges& g, const std::string& extra) {
  std::string out;
  metric(out, "mamsign_intake_accepted_total", "counter", "Files moved to the accepted folder since the start.");
  out += "mamsign_intake_accepted_total " + std::to_string(c.accepted) + "\n";
  metric(out, "mamsign_intake_rejected_total", "counter",
         "Files moved to the rejected folder since the start, by reason code.");
  for (const auto& [reason, n] : c.rejected) {
    out += "mamsign_intake_rejected_total{reason=\"" + reason + "\"} " + std::to_string(n) + "\n";
  }
  metric(out, "mamsign_intake_errors_total", "counter",
         "Moves that failed (a full disk) and reloads of trust or CRLs that failed.");
  out += "mamsign_intake_errors_total " + std::to_string(c.errors) + "\n";
  metric(out, "mamsign_intake_reloads_total", "counter", "Reloads of the trust anchors and CRLs.");
  out += "mamsign_intake_reloads_total " + std::to_string(c.reloads) + "\n";
  metric(out, "mamsign_intake_inotify_overflows_total", "counter",
         "Kernel notification queue overflows (each rescanned).");
  out += "mamsign_intake_inotify_overflows_total " + std::to_string(c.overflows) + "\n";
  metric(out, "mamsign_intake_queue_depth", "gauge", "Files in the inbox not yet moved (in flight included).");
  out += "mamsign_intake_queue_depth " + std::to_string(g.waiting) + "\n";
  metric(out, "mamsign_intake_in_flight", "gauge", "Files being verified or moved.");
  out += "mamsign_intake_in_flight " + std::to_string(g.in_flight) + "\n";
  metric(out, "mamsign_intake_oldest_waiting_seconds", "gauge", "Age of the longest-waiting file in the inbox.");
  out += "mamsign_intake_oldest_waiting_seconds " + number(g.oldest_waiting_seconds) + "\n";
  metric(out, "mamsign_intake_paused", "gauge", "1 while no files are taken because a move cannot be completed.");
  out += std::string("mamsign_intake_paused ") + (g.paused ? "1" : "0") + "\n";
  metric(out, "mamsign_intake_ledger_entries", "gauge", "Entries in the ledger.");
  out += "mamsign_intake_ledger_entries " + std::to_string(g.ledger_entries) + "\n";
  metric(out, "mamsign_intake_start_time_seconds", "gauge", "When the watcher started (Unix time).");
  out += "mamsign_intake_start_time_seconds " + number(c.start_time) + "\n";
  metric(out, "mamsign_intake_last_move_time_seconds", "gauge", "When a file was last moved (Unix time; 0: none).");
  out += "mamsign_intake_last_move_time_seconds " + number(c.last_move_time) + "\n";
  return out + extra;
}

}  // namespace mamsign::intake
