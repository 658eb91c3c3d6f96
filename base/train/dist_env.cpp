#include "base/train/dist_env.h"

#include <cstdlib>

#include "base/util/errors.h"

namespace repro::core {

namespace {

int parse_int(const std::string& name, const std::string& value) {
  size_t used = 0;
  long v = 0;
  try {
    v = std::stol(value, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != value.size())
    throw ConfigError("environment", name, "expected an integer, got '" + value + "'");
  return static_cast<int>(v);
}

}  // namespace

std::string DistEnv::describe() const {
  if (!distributed()) return "single process";
  std::string where =
      store_file.empty() ? "tcp store " + master_addr + ":" + std::to_string(master_port) : "file store " + store_file;
  return "rank " + std::to_string(rank) + " of " + std::to_string(world_size) + " (" + source + ", " + where + ")";
}

std::string first_slurm_host(const std::string& nodelist) {
  // The first entry ends at the first comma outside brackets.
  size_t end = 0;
  int depth = 0;
  for (; end < nodelist.size(); ++end) {
    if (nodelist[end] == '[') ++depth;
    if (nodelist[end] == ']') --depth;
    if (nodelist[end] == ',' && depth == 0) break;
  }
  // Each bracket group ("[03-05,9]") contributes its first value, zero padding kept.
  std::string host = nodelist.substr(0, end);
  for (auto open = host.find('['); open != std::string::npos; open = host.find('[')) {
    const auto close = host.find(']', open);
    if (close == std::string::npos) break;
    const std::string group = host.substr(open + 1, close - open - 1);
    host = host.substr(0, open) + group.substr(0, group.find_first_of(",-")) + host.substr(close + 1);
  }
  return host;
}

namespace {

using Getenv = std::function<std::optional<std::string>(const std::string&)>;

// The variables that gave the rank and the world size, named in errors about them.
struct RankSource {
  std::string rank_var;
  std::string world_var;
};

// torchrun and `repro train --nproc`: RANK, WORLD_SIZE [, LOCAL_RANK, LOCAL_WORLD_SIZE].
RankSource read_torchrun_ranks(const Getenv& get, DistEnv& env) {
  env.source = "env";
  env.rank = parse_int("RANK", *get("RANK"));
  env.world_size = parse_int("WORLD_SIZE", *get("WORLD_SIZE"));
  env.local_rank = get("LOCAL_RANK") ? parse_int("LOCAL_RANK", *get("LOCAL_RANK")) : env.rank;
  if (auto l = get("LOCAL_WORLD_SIZE")) env.single_node = parse_int("LOCAL_WORLD_SIZE", *l) == env.world_size;
  env.agent_store = get("TORCHELASTIC_USE_AGENT_STORE").value_or("") == "True";
  if (auto r = get("TORCHELASTIC_RESTART_COUNT")) env.restart_count = parse_int("TORCHELASTIC_RESTART_COUNT", *r);
  return {"RANK", "WORLD_SIZE"};
}

// srun: SLURM_PROCID, SLURM_STEP_NUM_TASKS [, SLURM_LOCALID, SLURM_STEP_NUM_NODES].
RankSource read_slurm_ranks(const Getenv& get, DistEnv& env) {
  RankSource vars{"SLURM_PROCID", "SLURM_STEP_NUM_TASKS"};
  env.source = "slurm";
  env.rank = parse_int(vars.rank_var, *get(vars.rank_var));
  env.world_size = parse_int(vars.world_var, *get(vars.world_var));
  env.local_rank = get("SLURM_LOCALID") ? parse_int("SLURM_LOCALID", *get("SLURM_LOCALID")) : 0;
  if (auto n = get("SLURM_STEP_NUM_NODES")) env.single_node = parse_int("SLURM_STEP_NUM_NODES", *n) == 1;
  return vars;
}

void validate_ranks(const DistEnv& env, const RankSource& vars) {
  if (env.world_size < 1)
    throw ConfigError("environment", vars.world_var, "expected at least 1, got " + std::to_string(env.world_size));
  if (env.rank < 0 || env.rank >= env.world_size)
    throw ConfigError(
        "environment", vars.rank_var,
        "expected a rank in [0, " + std::to_string(env.world_size) + "), got " + std::to_string(env.rank));
  if (env.local_rank < 0)
    throw ConfigError("environment", "LOCAL_RANK", "expected >= 0, got " + std::to_string(env.local_rank));
}

void read_timeout(const Getenv& get, DistEnv& env) {
  if (auto t = get("REPRO_DIST_TIMEOUT")) {
    env.timeout_s = parse_int("REPRO_DIST_TIMEOUT", *t);
    if (env.timeout_s <= 0) throw ConfigError("environment", "REPRO_DIST_TIMEOUT", "expected seconds > 0, got " + *t);
  }
}

// Under Slurm every task of a job derives the same address and port without a wrapper script.
void read_tcp_rendezvous(const Getenv& get, DistEnv& env) {
  if (auto a = get("MASTER_ADDR")) {
    env.master_addr = *a;
  } else if (env.source == "slurm") {
    for (const char* var : {"SLURM_STEP_NODELIST", "SLURM_JOB_NODELIST", "SLURM_NODELIST"})
      if (auto list = get(var)) {
        env.master_addr = first_slurm_host(*list);
        break;
      }
  }
  if (env.master_addr.empty())
    throw ConfigError("environment", "MASTER_ADDR",
                      "a run of " + std::to_string(env.world_size) +
                          " processes needs a rendezvous: set MASTER_ADDR (and MASTER_PORT) or REPRO_DIST_STORE_FILE");
  if (auto p = get("MASTER_PORT")) {
    env.master_port = parse_int("MASTER_PORT", *p);
  } else if (env.source == "slurm" && get("SLURM_JOB_ID")) {
    env.master_port = 15000 + parse_int("SLURM_JOB_ID", *get("SLURM_JOB_ID")) % 20000;
  }
  if (env.master_port <= 0 || env.master_port > 65535)
    throw ConfigError("environment", "MASTER_PORT",
                      "expected a port in 1..65535, got " + std::to_string(env.master_port));
}

}  // namespace

DistEnv dist_env_from_environment(const Getenv& getenv_in) {
  const Getenv get = [&](const std::string& name) -> std::optional<std::string> {
    if (getenv_in) return getenv_in(name);
    const char* v = std::getenv(name.c_str());
    if (!v) return std::nullopt;
    return std::string(v);
  };
  DistEnv env;
  RankSource vars;
  if (get("RANK") && get("WORLD_SIZE")) {
    vars = read_torchrun_ranks(get, env);
  } else if (get("SLURM_PROCID") && get("SLURM_STEP_NUM_TASKS")) {
    vars = read_slurm_ranks(get, env);
  }
  validate_ranks(env, vars);
  read_timeout(get, env);
  if (!env.distributed()) return env;

  if (auto f = get("REPRO_DIST_STORE_FILE")) {
    env.store_file = *f;
    return env;
  }
  read_tcp_rendezvous(get, env);
  return env;
}

}  // namespace repro::core
