#!/usr/bin/env python3
"""Writes a verl-format JSONL of short addition prompts (chat messages, answer in \\boxed{}).

usage: scripts/make_verl_math.py OUT.jsonl [LINES] [SEED]
Each line: {"data_source", "prompt": [{"role": "user", "content": ...}], "ability": "math",
"reward_model": {"style": "rule", "ground_truth": ...}, "extra_info": {"index": i}}.
"""
import json
import random
import sys

out = sys.argv[1]
lines = int(sys.argv[2]) if len(sys.argv) > 2 else 300
rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 0)
with open(out, "w") as f:
    for i in range(lines):
        a, b = rng.randint(10, 99), rng.randint(10, 99)
        f.write(json.dumps({
            "data_source": "seamless/addition",
            "prompt": [{"role": "user",
                        "content": f"What is {a}+{b}? Put the answer in \\boxed{{}}."}],
            "ability": "math",
            "reward_model": {"style": "rule", "ground_truth": str(a + b)},
            "extra_info": {"index": i, "split": "train"},
        }) + "\n")
