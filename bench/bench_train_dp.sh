#!/usr/bin/env bash
# Data-parallel training throughput: one process with the global batch vs `--nproc 2` with half
# the batch each, the same global batch, on the small 32x32 model (num_channels 64, the paper's
# options otherwise). Prints a table of the median images/s of the logged steps after the first.
# Usage: bench/bench_train_dp.sh [build dir] [global batch] [steps]
set -euo pipefail
build=${1:-build}
batch=${2:-16}
steps=${3:-6}
repro="$build/repro"
py=${REPRO_PYTHON:-/usr/bin/python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$py" -c "import numpy as np; np.savez('$work/data.npz', np.random.default_rng(0).integers(0, 256, (256, 32, 32, 3), dtype=np.uint8))"
cat > "$work/train.yaml" <<YAML
model: {image_size: 32, num_channels: 64, num_res_blocks: 2, attention_resolutions: [16, 8], num_head_channels: 64,
        dropout: 0.3, learn_sigma: true, use_scale_shift_norm: true, resblock_updown: true, use_new_attention_order: true}
diffusion: {diffusion_steps: 1000, noise_schedule: cosine}
train: {method: adm-ip, gamma: 0.1, batch_size: $batch, iterations: $steps, log_interval: 1, save_interval: 1000000}
data: {path: data.npz}
YAML

median_rate() {  # median images_per_sec of the log records after the first (warm-up) step
  "$py" -c "
import json, statistics, sys
r = [json.loads(l) for l in open(sys.argv[1])]
v = [e['images_per_sec'] for e in r if e['type'] == 'log'][1:]
print(f'{statistics.median(v):.2f}')" "$1"
}

printf '| processes | threads each | batch per process | global batch | steps | img/s (median) |\n|---|---|---|---|---|---|\n'
"$repro" train --config "$work/train.yaml" --run-dir "$work/one" --threads 2 2>/dev/null
printf '| 1 | 2 | %d | %d | %d | %s |\n' "$batch" "$batch" "$steps" "$(median_rate "$work/one/events.jsonl")"
"$repro" train --config "$work/train.yaml" --run-dir "$work/two" --nproc 2 --set train.batch_size=$((batch / 2)) 2>/dev/null
printf '| 2 | 1 | %d | %d | %d | %s |\n' "$((batch / 2))" "$batch" "$steps" "$(median_rate "$work/two/events.jsonl")"
