#pragma once
// Where this process sits in a data-parallel training run, read from the environment the way
// torchrun and Slurm describe it. Torch-free, so the launcher and the tests read it cheaply.
#include <functional>
#include <optional>
#include <string>

namespace repro::core {

struct DistEnv {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;             // index among the processes of this node: picks cuda:local_rank
  std::string source = "single";  // "single" | "env" (RANK/WORLD_SIZE) | "slurm" (SLURM_PROCID/...)
  // Rendezvous: a FileStore path (REPRO_DIST_STORE_FILE, what `repro train --nproc` uses) or a
  // TCPStore served by rank 0 at master_addr:master_port.
  std::string store_file;
  std::string master_addr;
  int master_port = 29500;   // torch's default
  int timeout_s = 900;       // REPRO_DIST_TIMEOUT: how long a collective waits for a lost peer
  bool single_node = false;  // every rank on this machine (LOCAL_WORLD_SIZE == WORLD_SIZE): Gloo binds to loopback
  // torchrun (elastic) already serves the TCP store on MASTER_PORT: every rank joins as a client,
  // under the prefix torchrun's own workers use.
  bool agent_store = false;
  int restart_count = 0;  // TORCHELASTIC_RESTART_COUNT

  bool distributed() const { return world_size > 1; }
  std::string describe() const;  // "rank 1 of 2 (env, file store /tmp/...)"
};

// Reads, in this order of precedence:
//   RANK, WORLD_SIZE [, LOCAL_RANK, LOCAL_WORLD_SIZE]    (torchrun, `repro train --nproc`)
//   SLURM_PROCID, SLURM_STEP_NUM_TASKS [, SLURM_LOCALID, SLURM_STEP_TASKS_PER_NODE]   (srun)
// A batch script run without srun has no SLURM_STEP_NUM_TASKS and is one process, whatever
// SLURM_NTASKS the job asked for.
// and the rendezvous from REPRO_DIST_STORE_FILE, or MASTER_ADDR / MASTER_PORT. Under Slurm
// MASTER_ADDR defaults to the first host of the step's node list and MASTER_PORT to
// 15000 + SLURM_JOB_ID % 20000, so every task of a job agrees without a wrapper script.
// `getenv` is injectable for tests. Throws ConfigError naming the variable for a value that is
// not a number, a rank outside [0, world size), or a multi-process run without a rendezvous.
DistEnv dist_env_from_environment(const std::function<std::optional<std::string>(const std::string&)>& getenv = {});

// The first host of a Slurm node list: "gpu[03-05,9],cpu1" -> "gpu03".
std::string first_slurm_host(const std::string& nodelist);

}  // namespace repro::core
