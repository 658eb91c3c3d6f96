#include "runner/executor/slurm_queue.h"

#include <cctype>
#include <chrono>
#include <cstdio>
#include <functional>
#include <sstream>

#include "base/util/errors.h"
#include "base/util/process.h"
#include "base/util/strings.h"

namespace repro::runner {
namespace {

bool all_digits(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

// One squeue row ("JobArrayID|Name|State|exit_code|Reason|"); false when it has too few fields.
bool parse_squeue_line(const std::string& line, std::string* id_field, SlurmQueueRow* row) {
  std::vector<std::string> f;
  size_t start = 0;
  for (int i = 0; i < 4; ++i) {
    const auto bar = line.find('|', start);
    if (bar == std::string::npos) break;
    f.push_back(trim(line.substr(start, bar - start)));
    start = bar + 1;
  }
  if (f.size() < 4) return false;
  *id_field = f[0];
  row->name = f[1];
  row->state = f[2];
  try {
    row->raw_exit = std::stoi(f[3]);
  } catch (const std::exception&) {
  }
  std::string reason = line.substr(start);
  if (!reason.empty() && reason.back() == '|') reason.pop_back();
  row->reason = trim(reason);
  return true;
}

}  // namespace

SlurmToolResult run_slurm_tool(const std::string& program, const std::vector<std::string>& args,
                               const std::map<std::string, std::string>& env) {
  std::vector<std::string> argv = {program};
  argv.insert(argv.end(), args.begin(), args.end());
  CapturedRun run = run_capture(argv, env);
  return {run.status.shell_status(), std::move(run.out), std::move(run.err)};
}

bool valid_slurm_job_id(const std::string& id) {
  if (id.empty() || id.front() == '_' || id.back() == '_') return false;
  for (char c : id)
    if (!std::isdigit(static_cast<unsigned char>(c)) && c != '_') return false;
  return true;
}

std::string slurm_array_base(const std::string& job_id) { return job_id.substr(0, job_id.find('_')); }

bool slurm_state_ended(const std::string& state) {
  static const std::set<std::string> kEnded = {"COMPLETED", "FAILED",        "TIMEOUT",   "CANCELLED", "NODE_FAIL",
                                               "PREEMPTED", "OUT_OF_MEMORY", "BOOT_FAIL", "DEADLINE"};
  return kEnded.count(state) > 0;
}

std::string slurm_job_name(const std::string& key) {
  std::string n = "repro-";
  for (char c : key)
    n += (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '+' || c == '-') ? c : '_';
  return n.substr(0, 120);
}

std::string slurm_array_job_name(const std::string& first_key, size_t elements, const std::string& manifest) {
  const auto now = std::chrono::system_clock::now().time_since_epoch().count();
  char token[9];
  std::snprintf(token, sizeof token, "%08x",
                static_cast<unsigned>(std::hash<std::string>{}(manifest + "@" + std::to_string(now)) & 0xffffffffu));
  return slurm_job_name(first_key).substr(0, 100) + "+" + std::to_string(elements - 1) + "." + token;
}

std::string parse_sbatch_job_id(const SlurmToolResult& sbatch, const std::string& what) {
  const std::string out = trim(sbatch.out);
  const std::string id = out.substr(0, out.find(';'));
  if (sbatch.rc != 0 || !all_digits(id)) {
    const std::string err = trim(sbatch.err);
    throw IoError("sbatch failed for " + what + " (exit " + std::to_string(sbatch.rc) +
                  "): " + (err.empty() ? "expected a job id on stdout, got '" + out + "'" : err));
  }
  return id;
}

SlurmQueueId parse_slurm_queue_id(const std::string& field) {
  constexpr size_t kMaxIds = 1000000;  // a pending range of an absurd size counts as cut short
  SlurmQueueId q;
  const std::string f = trim(field);
  const auto us = f.find('_');
  q.base = f.substr(0, us);
  if (!all_digits(q.base)) return {};
  if (us == std::string::npos) {
    q.ids = {f};
    return q;
  }
  const std::string rest = f.substr(us + 1);
  if (all_digits(rest)) {
    q.ids = {f};
    return q;
  }
  if (rest.empty() || rest.front() != '[') return {};
  const auto close = rest.find(']');
  q.truncated = close == std::string::npos;
  std::string list = rest.substr(1, q.truncated ? std::string::npos : close - 1);
  list = list.substr(0, list.find('%'));  // "%K": the array's cap
  std::vector<std::string> items;
  std::stringstream in(list);
  for (std::string item; std::getline(in, item, ',');) items.push_back(item);
  if (q.truncated && !items.empty()) items.pop_back();  // may have lost digits
  for (const auto& item : items) {
    const auto dash = item.find('-');
    const std::string a = item.substr(0, dash), b = dash == std::string::npos ? a : item.substr(dash + 1);
    if (!all_digits(a) || !all_digits(b) || a.size() > 9 || b.size() > 9) return {};
    const long lo = std::stol(a), hi = std::stol(b);
    if (hi < lo) return {};
    if (q.ids.size() + static_cast<size_t>(hi - lo) >= kMaxIds) {
      q.truncated = true;
      break;
    }
    for (long i = lo; i <= hi; ++i) q.ids.push_back(q.base + "_" + std::to_string(i));
  }
  return q;
}

SlurmQueue parse_squeue_output(const std::string& out) {
  SlurmQueue queue;
  std::istringstream in(out);
  std::string line, id_field;
  while (std::getline(in, line)) {
    SlurmQueueRow row;
    if (!parse_squeue_line(line, &id_field, &row)) continue;
    const SlurmQueueId q = parse_slurm_queue_id(id_field);
    if (q.truncated) queue.unsure.insert(q.base);
    if (q.ids.size() == 1 && q.ids[0] == id_field)
      queue.rows[q.ids[0]] = row;  // a job, or an element of its own
    else
      for (const auto& id : q.ids) queue.rows.emplace(id, row);  // pending: never over an element's own row
  }
  return queue;
}

std::optional<SlurmQueue> query_slurm_queue(const std::string& squeue, const std::vector<std::string>& job_ids) {
  // An array's id lists all its elements; its pending ones come as one range row.
  std::set<std::string> bases;
  std::string list;
  for (const auto& id : job_ids)
    if (bases.insert(slurm_array_base(id)).second) list += (list.empty() ? "" : ",") + slurm_array_base(id);
  // Reason last: the only field that could hold a '|'. SLURM_BITSTR_LEN=0: pending ranges in full
  // (squeue cuts them at 64 characters by default).
  const SlurmToolResult r = run_slurm_tool(
      squeue,
      {"--noheader", "--states=all", "--jobs=" + list, "--Format=JobArrayID:|,Name:|,State:|,exit_code:|,Reason:|"},
      {{"SLURM_BITSTR_LEN", "0"}});
  if (r.rc != 0) {
    if (r.err.find("Invalid job id") != std::string::npos) return SlurmQueue{};  // none of them is known
    return std::nullopt;
  }
  return parse_squeue_output(r.out);
}

}  // namespace repro::runner
