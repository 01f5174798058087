#!/usr/bin/env bash
# Quick start, command 1: install what is missing, build, and run the main job end to end.
# Today that is: write the embedded default model as a Hugging Face directory, read it back,
# tokenize, generate samples with per-token log-probs, and benchmark the model.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
run=${SEAMLESS_DEMO_DIR:-build/demo}
rm -rf "$run"
echo "== init-model: the embedded default model as a Hugging Face directory"
build/seamless init-model --out "$run/model"
build/seamless inspect-model --model "$run/model" | tail -1
echo "== tokenize"
echo '"What is 12+30? Answer: \\boxed{42}"' | build/seamless tokenize --tokenizer "$run/model"
echo "== generate: 2 prompts x 2 samples (untrained model, so the text is noise)"
build/seamless generate --model "$run/model" --num-samples 2 --max-new-tokens 24 \
  --temperature 0.8 "12+30=" "7*6="
echo "== bench model"
build/seamless bench model --model "$run/model"
