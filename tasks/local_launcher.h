#pragma once
// `repro train --nproc N` and a data-parallel train task: one run as N processes of this machine.
// The launcher re-runs the same command line once per rank with RANK, WORLD_SIZE, LOCAL_RANK and a
// file-store rendezvous in the environment, forwards SIGINT/SIGTERM to every rank (each then stops
// cleanly after the same step), and stops the others when one fails.
#include <iosfwd>
#include <string>
#include <vector>

namespace repro::tasks {

// `command_line` is the argv that runs the training as one rank (no --nproc); `threads_per_rank`
// is passed to each rank as --threads (replacing any --threads given). Returns 0 when every rank
// succeeded, else the status of the first rank to fail (128 + signal for a rank killed by one).
int launch_local_ranks(int nproc, std::vector<std::string> command_line, int threads_per_rank, std::ostream& err);

// argv without the options named in `drop` (each with its value, as "--x v" or "--x=v").
std::vector<std::string> without_options(const std::vector<std::string>& argv, const std::vector<std::string>& drop);

}  // namespace repro::tasks
