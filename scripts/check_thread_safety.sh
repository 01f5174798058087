#!/usr/bin/env bash
# Checks the lock annotations (ABSL_GUARDED_BY, ABSL_EXCLUSIVE_LOCKS_REQUIRED, ...) with clang's
# -Wthread-safety analysis, without a second build: every translation unit of the GCC build
# (build/compile_commands.json) that takes or annotates a lock is parsed once by clang++
# (-fsyntax-only) with the GCC flags adapted. Fails on any warning.
#
#   scripts/check_thread_safety.sh [BUILD_DIR [REGEX]]   (default: build; after scripts/build.sh)
#
# REGEX, when given, narrows the check to the selected TUs whose path matches it.
#
# A TU is checked when its text or its own header (same name, .h) mentions Mutex, mutex,
# CondVar, GUARDED or LOCKS_REQUIRED, or when it includes such a header that has no .cc of its
# own (header-only code is analysed where it is used). Env: CLANGXX (default clang++-14),
# SEAMLESS_JOBS (parallel clang processes, default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${1:-build}
clangxx=${CLANGXX:-clang++-14}
jobs=${SEAMLESS_JOBS:-2}
only=${2:-}
db="$build_dir/compile_commands.json"

if [[ ! -f "$db" ]]; then
  echo "thread-safety: error: $db is missing; run scripts/build.sh first" >&2
  exit 1
fi
if ! command -v "$clangxx" >/dev/null 2>&1; then
  echo "thread-safety: error: $clangxx is not installed (scripts/setup.sh installs clang-14)" >&2
  exit 1
fi

list=$(mktemp -d)
trap 'rm -rf "$list"' EXIT

# Per selected TU one NUL-terminated record: "cd", its directory, then the clang command line,
# the words separated by \x1f.
python3 - "$db" "$clangxx" "$PWD" "$only" >"$list/commands" <<'EOF'
import json, os, re, shlex, sys

db, clangxx, root, only = sys.argv[1:5]
locky = re.compile(r"Mutex|mutex|CondVar|GUARDED|LOCKS_REQUIRED")
include = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)

def text(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return ""

def ours(path):  # the tree's own sources, not generated code in a build directory
    rel = os.path.relpath(os.path.realpath(path), root)
    return not rel.startswith("..") and not rel.split("/")[0].startswith("build")

# A file gone from the tree since the last configure is not checked (the build would fail).
entries = [e for e in json.load(open(db)) if ours(e["file"]) and os.path.isfile(e["file"])]
files = {os.path.realpath(e["file"]) for e in entries}

def own_header(cc):
    return os.path.splitext(cc)[0] + ".h"

def header_only(h):
    return os.path.splitext(h)[0] + ".cc" not in files

selected = []
for e in entries:
    cc = os.path.realpath(e["file"])
    body = text(cc)
    take = bool(locky.search(body)) or bool(locky.search(text(own_header(cc))))
    if not take:
        for inc in include.findall(body):
            h = os.path.join(root, inc)
            if os.path.isfile(h) and header_only(h) and locky.search(text(h)):
                take = True
                break
    if take and (not only or re.search(only, cc)):
        selected.append(e)

# GCC's flags, adapted: the include paths, macros, standard and -f options stay; its warnings,
# output, the precompiled header (GCC's .gch means nothing to clang) and a launcher go.
for e in sorted(selected, key=lambda e: e["file"]):
    args = e["arguments"] if "arguments" in e else shlex.split(e["command"])
    while args and os.path.basename(args[0]) in ("ccache", "sccache"):
        args = args[1:]
    out, i = [clangxx], 1
    while i < len(args):
        a = args[i]
        if a in ("-o", "-include", "-MF", "-MT", "-MQ"):
            i += 2
            continue
        if a in ("-c", "-MD", "-MMD") or a.startswith("-W") or a == e["file"]:
            i += 1
            continue
        out.append(a)
        i += 1
    out += ["-fsyntax-only", "-Wno-everything", "-Wthread-safety", "-Werror=thread-safety",
            e["file"]]
    sys.stdout.write("\x1f".join(["cd", e["directory"]] + out) + "\0")
EOF

count=$(tr -cd '\0' <"$list/commands" | wc -c)
echo "thread-safety: checking $count translation units with $clangxx -Wthread-safety ($jobs jobs)"
start=$(date +%s)
# Each TU's diagnostics go to a file of their own so parallel output does not interleave.
set +e
xargs -0 -P "$jobs" -n 1 bash -c '
  IFS=$'"'"'\x1f'"'"' read -r -a cmd <<<"$1"
  dir=${cmd[1]}
  log=$(mktemp "$0/tu.XXXXXX")
  (cd "$dir" && "${cmd[@]:2}") >"$log" 2>&1
  rc=$?
  if [[ $rc -ne 0 || -s "$log" ]]; then
    echo "thread-safety: FAILED ${cmd[-1]}" >>"$log"
    exit 1
  fi
  rm -f "$log"
' "$list" <"$list/commands"
rc=$?
set -e
elapsed=$(( $(date +%s) - start ))
failed=$(find "$list" -name 'tu.*' | wc -l)
if [[ $rc -ne 0 || $failed -ne 0 ]]; then
  cat "$list"/tu.* >&2
  echo "thread-safety: error: $failed of $count translation units failed (lock warnings above," \
       "or clang could not parse the file with these flags; ${elapsed}s)" >&2
  exit 1
fi
echo "thread-safety: $count translation units clean (${elapsed}s)"
