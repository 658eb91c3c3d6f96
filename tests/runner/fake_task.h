#pragma once
// A stand-in for `repro task` in the runner's tests: a shell script that appends events.jsonl
// records as docs/events.md describes and exits with a chosen code. Control files in `ctl`:
//   <task_id>.sleep   seconds to work (else default.sleep, else 0.2)
//   <task_id>.codes   exit code of the task's store-wide attempt N on line N (else 0)
// It appends to ctl/trace "start|end|term <task_id> <attempt> <unix time> ..." lines and, on a
// successful end, its task id to ctl/completed. SIGTERM/SIGINT: an `end interrupted` record, exit 6.
#include <sys/stat.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace repro::test {

inline std::string write_fake_task(const std::string& dir) {
  const std::string path = dir + "/fake_repro.sh";
  std::ofstream out(path);
  out << R"SH(#!/bin/sh
ctl="$FAKE_CTL"; id="$REPRO_TASK_ID"; ev="$REPRO_TASK_EVENTS"; a="$REPRO_TASK_ATTEMPT"
[ "$1" = task ] && [ -f "$2" ] || { echo "usage: task FILE" >&2; exit 2; }
now() { date +%s.%N; }
seq=0; [ -f "$ev" ] && seq=$(wc -l < "$ev")
emit() { echo "{\"v\":1,\"seq\":$seq,\"time\":$(now),\"type\":\"$1\"$2}" >> "$ev"; seq=$((seq+1)); }
echo "start $id $a $(now) gpus=${CUDA_VISIBLE_DEVICES-unset}" >> "$ctl/trace"
trap 'emit end ",\"status\":\"interrupted\",\"step\":0,\"message\":\"signal\""; echo "term $id $a $(now)" >> "$ctl/trace"; exit 6' TERM INT
emit start ',"step":0,"resumed_from":-1'
echo "working on $id attempt $a"
s=0.2; [ -f "$ctl/default.sleep" ] && s=$(cat "$ctl/default.sleep"); [ -f "$ctl/$id.sleep" ] && s=$(cat "$ctl/$id.sleep")
sleep "$s" & wait $!
code=0; [ -f "$ctl/$id.codes" ] && code=$(sed -n "${a}p" "$ctl/$id.codes"); code=${code:-0}
emit log ',"step":10,"loss":0.5'
echo "end $id $a $(now) $code" >> "$ctl/trace"
if [ "$code" = 0 ]; then emit end ',"status":"completed","step":10,"message":""'; echo "$id" >> "$ctl/completed"; fi
exit $code
)SH";
  out.close();
  ::chmod(path.c_str(), 0755);
  return path;
}

struct TraceLine {
  std::string what;  // start | end | term
  std::string task_id;
  int attempt = 0;
  double time = 0;
  std::string extra;  // start: "gpus=..."; end: the exit code
};

inline std::vector<TraceLine> read_trace(const std::string& ctl) {
  std::vector<TraceLine> out;
  std::ifstream in(ctl + "/trace");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream s(line);
    TraceLine t;
    s >> t.what >> t.task_id >> t.attempt >> t.time;
    s >> t.extra;
    out.push_back(t);
  }
  return out;
}

inline std::map<std::string, int> read_completed(const std::string& ctl) {
  std::map<std::string, int> out;
  std::ifstream in(ctl + "/completed");
  std::string id;
  while (std::getline(in, id))
    if (!id.empty()) ++out[id];
  return out;
}

inline void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
}

}  // namespace repro::test
