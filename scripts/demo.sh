#!/usr/bin/env bash
# Quick start, command 1: install what is missing, build, and run the main job: a local GRPO
# training run on loopback (`seamless train` on its embedded defaults). Every role is its own
# process: reward server, two rollout workers, the learner and the scheduler. The run
# directory (config.yaml, metrics.jsonl, checkpoints/, logs/, report.html) is printed at the
# start; the last line is a JSON summary with start_accuracy and final_accuracy.
#   SEAMLESS_DEMO_DIR=DIR   where the run goes (default runs/demo)
#   extra arguments go to `seamless train` (e.g. --steps 20, --config my.yaml)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
run=${SEAMLESS_DEMO_DIR:-runs/demo}
rm -rf "$run"
exec build/seamless train --out "$run" "$@"
