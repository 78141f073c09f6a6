#!/usr/bin/env python3
"""Prompt-injection quality side by side: `moat guard injection` against a keyword filter
(the offline baseline the issue names: a list of the usual attack phrases, matched
case-insensitively) on the two labelled sets of moat-guard:
`tests/data/injection_eval.jsonl` (the split held back from the training sources) and
`tests/data/injection_heldout.jsonl` (other sources: PyRIT, DeepEval, NeMo Guardrails,
hand-written texts and their disguises), per source.

    cargo build --release -p moat && python3 bench/guard_injection_eval.py [path/to/moat]
"""
import json
import os
import subprocess
import sys
import time
from collections import Counter

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "crates", "moat-guard", "tests", "data")
target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
MOAT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(target, "release", "moat")
KEYWORDS = ["ignore previous instructions", "ignore all previous", "ignore the above", "disregard previous", "disregard the above",
            "forget your instructions", "jailbreak", "do anything now", "developer mode", "system prompt", "pretend you are",
            "you are now", "no restrictions", "without any restrictions", "act as an unrestricted"]


def metrics(rows, verdict):
    c = Counter()
    by = {}
    for r in rows:
        attack, got = r["label"] == "injection", verdict[r["id"]]
        key = ("tp" if got else "fn") if attack else ("fp" if got else "tn")
        c[key] += 1
        src = r.get("source", "").split("/")[0]
        by.setdefault(src, Counter())[key] += 1
    p = c["tp"] / max(1, c["tp"] + c["fp"])
    r_ = c["tp"] / max(1, c["tp"] + c["fn"])
    f1 = 2 * p * r_ / max(1e-9, p + r_)
    return p, r_, f1, c["fp"] / max(1, c["fp"] + c["tn"]), by


for name in ("injection_eval.jsonl", "injection_heldout.jsonl"):
    path = os.path.join(DATA, name)
    rows = [json.loads(l) for l in open(path, encoding="utf-8")]
    for i, r in enumerate(rows):
        r.setdefault("id", i)
    tmp = path
    if any("id" not in json.loads(l) for l in open(path, encoding="utf-8")):
        tmp = "/tmp/moat_injection_eval.jsonl"
        with open(tmp, "w", encoding="utf-8") as f:
            for r in rows:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
    t = time.perf_counter()
    out = subprocess.run([MOAT, "guard", "injection", tmp, "--jsonl"], capture_output=True, text=True).stdout
    secs = time.perf_counter() - t
    moat = {json.loads(l)["id"]: json.loads(l)["injection"] for l in out.splitlines()}
    keyword = {r["id"]: any(k in r["text"].lower() for k in KEYWORDS) for r in rows}
    print(f"### {name}: {len(rows)} texts ({sum(r['label'] == 'injection' for r in rows)} attacks); moat {secs:.2f} s for the whole command\n")
    print("| detector | precision | recall | F1 | false-positive rate |")
    print("|---|---|---|---|---|")
    results = {}
    for label, v in (("moat", moat), ("keyword filter", keyword)):
        p, r_, f1, fpr, by = metrics(rows, v)
        results[label] = by
        print(f"| {label} | {p:.3f} | {r_:.3f} | {f1:.3f} | {fpr:.3f} |")
    sources = sorted(results["moat"])
    if len(sources) > 1:
        print("\n| source | moat | keyword filter |")
        print("|---|---|---|")
        for s in sources:
            cells = []
            for label in ("moat", "keyword filter"):
                c = results[label][s]
                if c["tp"] + c["fn"]:
                    cells.append(f"recall {c['tp']}/{c['tp'] + c['fn']}")
                else:
                    cells.append(f"false alarms {c['fp']}/{c['fp'] + c['tn']}")
            print(f"| {s} | {cells[0]} | {cells[1]} |")
    print()
