#!/usr/bin/env bash
# Format and lint, with the repository's own .clang-format and .clang-tidy:
#   clang-format --dry-run -Werror on every tracked C++ file, and
#   clang-tidy on the translation units changed since .ci/tidy-base (the last commit at which
#   every unit was tidy-clean), or on all of them with --all.
#
#   scripts/lint.sh [--all] [--record] [BUILD_DIR]     (default build/; after scripts/build.sh)
#
# --record (with --all): when every unit is clean, writes HEAD to .ci/tidy-base. clang-tidy
# costs 2-15 s of CPU a unit here (most of it matching the LibTorch headers), so all of them
# take about 13 minutes on 2 cores; the changed set keeps CI's share small. A unit counts as
# changed when its .cc, or the header of the same name, differs from the base.
# Env: SEAMLESS_JOBS (parallel clang-tidy processes, default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
all=0 record=0 build_dir=build
for arg in "$@"; do
  case "$arg" in
    --all) all=1 ;;
    --record) record=1 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    -*) echo "lint: error: unknown flag '$arg' (--all, --record, BUILD_DIR)" >&2; exit 2 ;;
    *) build_dir=$arg ;;
  esac
done
jobs=${SEAMLESS_JOBS:-2}
for tool in clang-format-14 clang-tidy-14; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "lint: error: $tool is not installed (scripts/setup.sh installs it)" >&2
    exit 1
  fi
done

# 1. Format: every tracked C++ source and header (test data excepted).
mapfile -t sources < <(git ls-files '*.cc' '*.h' | grep -v '/testdata/')
unformatted=()
for f in "${sources[@]}"; do
  clang-format-14 --dry-run -Werror "$f" >/dev/null 2>&1 || unformatted+=("$f")
done
if [[ ${#unformatted[@]} -gt 0 ]]; then
  printf '  %s\n' "${unformatted[@]}" >&2
  echo "lint: error: ${#unformatted[@]} file(s) differ from .clang-format (above); run" \
       "clang-format-14 -i on them" >&2
  exit 1
fi
echo "lint: ${#sources[@]} files formatted"

# 2. Tidy: the units of the build's compile_commands.json, GCC's precompiled header dropped
# (clang cannot read a .gch).
db="$build_dir/compile_commands.json"
if [[ ! -f "$db" ]]; then
  echo "lint: error: $db is missing; run scripts/build.sh first" >&2
  exit 1
fi
base=$(cat .ci/tidy-base 2>/dev/null || true)
if [[ $all -eq 0 ]] && ! git rev-parse -q --verify "${base}^{commit}" >/dev/null; then
  # A shallow clone may not hold the base: fall back to what the last commit changed.
  if git rev-parse -q --verify "HEAD~1^{commit}" >/dev/null; then
    echo "lint: warning: .ci/tidy-base ('$base') is not in this clone (shallow?); tidying the" \
         "units the last commit changed" >&2
    base=$(git rev-parse HEAD~1)
  else
    echo "lint: warning: neither .ci/tidy-base ('$base') nor HEAD~1 is in this clone; clang-tidy" \
         "skipped (scripts/lint.sh --all checks every unit)" >&2
    exit 0
  fi
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
changed=""
[[ $all -eq 0 ]] && changed=$(git diff --name-only "$base" HEAD -- '*.cc' '*.h'; git diff --name-only -- '*.cc' '*.h')
python3 - "$db" "$PWD" "$work" "$all" "$changed" >"$work/units" <<'EOF'
import json, os, shlex, sys
db, root, work, everything, changed = sys.argv[1:6]
changed = set(changed.split())
out = []
for e in json.load(open(db)):
    rel = os.path.relpath(os.path.realpath(e["file"]), root)
    if rel.startswith("..") or rel.split("/")[0].startswith("build") or not os.path.isfile(rel):
        continue
    if everything != "1" and rel not in changed and os.path.splitext(rel)[0] + ".h" not in changed:
        continue
    args = e["arguments"] if "arguments" in e else shlex.split(e["command"])
    while args and os.path.basename(args[0]) in ("ccache", "sccache"):
        args = args[1:]
    kept, i = [], 0
    while i < len(args):
        if args[i] == "-include" and "cmake_pch" in args[i + 1]:
            i += 2
            continue
        if not args[i].startswith("-Winvalid-pch"):
            kept.append(args[i])
        i += 1
    out.append({"directory": e["directory"], "file": e["file"], "arguments": kept})
    print(rel)
json.dump(out, open(os.path.join(work, "compile_commands.json"), "w"))
EOF
count=$(wc -l <"$work/units")
if [[ $count -eq 0 ]]; then
  echo "lint: no translation unit changed since $base; clang-tidy has nothing to check"
  exit 0
fi
echo "lint: clang-tidy on $count translation unit(s) ($([[ $all -eq 1 ]] && echo all || echo "changed since ${base:0:10}"), $jobs jobs)"
start=$(date +%s)
set +e
xargs -P "$jobs" -I{} sh -c 'clang-tidy-14 --quiet -p "$1" "$2" >"$1/$(echo "$2" | tr / _).log" 2>/dev/null' \
  _ "$work" {} <"$work/units"
set -e
cat "$work"/*.log | grep -E '^[^ ].*: (warning|error): ' | sort -u >"$work/findings" || true
elapsed=$(( $(date +%s) - start ))
if [[ -s "$work/findings" ]]; then
  cat "$work"/*.log >&2
  echo "lint: error: $(wc -l <"$work/findings") clang-tidy finding(s) in $count unit(s) (above; ${elapsed}s)" >&2
  exit 1
fi
echo "lint: $count translation unit(s) tidy-clean (${elapsed}s)"
if [[ $record -eq 1 && $all -eq 1 ]]; then
  git rev-parse HEAD >.ci/tidy-base
  echo "lint: .ci/tidy-base is now $(cat .ci/tidy-base); commit it"
fi
