#!/usr/bin/env bash
# A private one-node Slurm cluster for the tests (../shared/docs/slurm-one-node.md): munged,
# slurmctld and slurmd started in the foreground and backgrounded, everything under DIR.
#   slurm_cluster.sh start DIR   prints "SLURM_CONF=DIR/slurm.conf" when the node is idle; exit 0
#   slurm_cluster.sh stop DIR    cancels what is left, stops exactly the daemons it started
# Needs root and the Debian packages slurm-wlm slurmctld slurmd slurm-client munge. Ports: the
# first free pair from $REPRO_SLURM_PORT (default 16817; a developer's own cluster on 6817 is left
# alone; clusters started at once need different values). The node has 2 fake GPUs (gres gpu:2
# on /dev/tty0 and /dev/tty1) so that GPU requests and multi-task steps can be tested.
set -euo pipefail

cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

stop_pids() {  # stop_pids FILE...: SIGTERM the pids in the FILEs together, wait up to 5 s, then SIGKILL
  local f pids=() pid
  for f in "$@"; do [ -s "$f" ] && pids+=("$(cat "$f")"); done
  [ ${#pids[@]} -gt 0 ] || return 0
  kill -TERM "${pids[@]}" 2>/dev/null || true
  for _ in $(seq 50); do
    local alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ $alive -eq 0 ] && return 0
    sleep 0.1
  done
  kill -KILL "${pids[@]}" 2>/dev/null || true
}

case "$cmd" in
start)
  [ "$(id -u)" -eq 0 ] || { echo "slurm_cluster: needs root (slurmd runs jobs as any user)" >&2; exit 3; }
  for b in /usr/sbin/munged /usr/sbin/slurmctld /usr/sbin/slurmd sbatch squeue scancel sinfo; do
    command -v "$b" >/dev/null || { echo "slurm_cluster: $b not found (apt-get install slurm-wlm slurmctld slurmd slurm-client munge)" >&2; exit 3; }
  done
  mkdir -p "$dir"/{state,spool,log,munge}
  dir=$(cd "$dir" && pwd)
  chmod 0755 "$dir"  # munged (user munge) must reach its socket folder
  chown munge:munge "$dir/munge"
  if [ ! -s /etc/munge/munge.key ]; then
    mungekey --create --keyfile=/etc/munge/munge.key
    chown munge:munge /etc/munge/munge.key
    chmod 0400 /etc/munge/munge.key
  fi
  port=${REPRO_SLURM_PORT:-16817}
  while ! port_free "$port" || ! port_free $((port + 1)); do port=$((port + 2)); done
  cpus=$(nproc)
  mem=$(awk '/MemTotal/ { printf "%d", $2 / 1024 * 0.9 }' /proc/meminfo)
  cat > "$dir/gres.conf" <<EOF
NodeName=localhost Name=gpu File=/dev/tty[0-1]
EOF
  cat > "$dir/slurm.conf" <<EOF
ClusterName=repro-test
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.socket
SlurmctldPort=$port
SlurmdPort=$((port + 1))
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=1
MpiDefault=none
ReturnToService=2
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/filetxt
JobCompLoc=$dir/log/jobcomp.txt
MinJobAge=3600
KillWait=5
GresTypes=gpu
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem Gres=gpu:2 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:8
EOF
  runuser -u munge -- /usr/sbin/munged --socket="$dir/munge/munge.socket" \
    --pid-file="$dir/munge/munged.pid" --log-file="$dir/munge/munged.log" --seed-file="$dir/munge/munged.seed"
  export SLURM_CONF=$dir/slurm.conf
  setsid /usr/sbin/slurmctld -D -f "$SLURM_CONF" > "$dir/log/slurmctld.out" 2>&1 &
  echo $! > "$dir/slurmctld.ourpid"
  setsid /usr/sbin/slurmd -D -N localhost -f "$SLURM_CONF" > "$dir/log/slurmd.out" 2>&1 &
  echo $! > "$dir/slurmd.ourpid"
  for _ in $(seq 150); do  # 30 s
    state=$(sinfo -h -n localhost -o %T 2>/dev/null || true)
    if [ "$state" = idle ]; then
      echo "SLURM_CONF=$SLURM_CONF"
      exit 0
    fi
    case "$state" in inval*|drain*) break ;; esac
    sleep 0.2
  done
  echo "slurm_cluster: the node did not become idle (${state:-no answer}); logs in $dir/log" >&2
  tail -n 20 "$dir/log/slurmctld.log" "$dir/log/slurmd.log" >&2 || true
  exit 1
  ;;
stop)
  [ -d "$dir" ] || exit 0
  dir=$(cd "$dir" && pwd)
  if [ -f "$dir/slurm.conf" ] && [ -s "$dir/slurmctld.ourpid" ] && kill -0 "$(cat "$dir/slurmctld.ourpid")" 2>/dev/null; then
    export SLURM_CONF=$dir/slurm.conf
    timeout 5 scancel --user=root 2>/dev/null || true
    for _ in $(seq 50); do  # the jobs' processes end before the daemons go
      [ -z "$(timeout 5 squeue -h -t running,completing -o %i 2>/dev/null)" ] && break
      sleep 0.2
    done
  fi
  stop_pids "$dir/slurmd.ourpid" "$dir/slurmctld.ourpid"
  stop_pids "$dir/munge/munged.pid"
  rm -rf "$dir"
  ;;
*)
  echo "usage: $0 start|stop DIR" >&2
  exit 2
  ;;
esac
