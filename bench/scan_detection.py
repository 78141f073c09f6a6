#!/usr/bin/env python3
"""Detection table: moat scan against picklescan, ModelScan and fickling on the scanner's
fixture corpus (crates/moat-scan/tests/data, described by expected.json and
expected_h5.json).

    pip install picklescan modelscan fickling
    cargo build -p moat
    python3 bench/scan_detection.py [path/to/moat]

A fixture is malicious when its expected worst severity is high or critical, "for
review" when it is medium (custom operators, custom objects, path tricks: not counted in
the totals), benign otherwise.
A tool "detects" a file when it exits 1 (each tool's "found something" code); exit 0 is
"clean"; anything else, or no answer in 60 s, is an error. For benign fixtures a detection
is a false alarm. moat runs with its default gate, `--fail-on high`.
"""
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "crates", "moat-scan", "tests", "data")
target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
MOAT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(target, "debug", "moat")

TOOLS = {
    "moat": lambda f: [MOAT, "scan", f],
    "picklescan": lambda f: ["picklescan", "--path", f],
    "modelscan": lambda f: ["modelscan", "-p", f],
    "fickling": lambda f: ["fickling", "--check-safety", f],
}


def verdict(cmd):
    try:
        rc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60).returncode
    except (subprocess.TimeoutExpired, FileNotFoundError):
        return "error"
    return {0: "clean", 1: "flagged"}.get(rc, "error")


def main():
    expected = {}
    for name in ("expected.json", "expected_h5.json", "expected_joblib.json"):
        expected.update(json.load(open(os.path.join(DATA, name))))
    rows = []
    totals = {t: {"detected": 0, "missed": 0, "false alarm": 0, "error": 0} for t in TOOLS}
    for name in sorted(expected):
        malicious = expected[name]["worst"] in ("high", "critical")
        review = expected[name]["worst"] == "medium"
        path = os.path.join(DATA, name)
        cells = []
        for tool, cmd in TOOLS.items():
            v = verdict(cmd(path))
            if v == "error":
                cell = "error"
            elif review:
                cells.append(v)
                continue
            elif malicious:
                cell = "detected" if v == "flagged" else "MISSED"
            else:
                cell = "FALSE ALARM" if v == "flagged" else "clean"
            key = {"detected": "detected", "MISSED": "missed", "FALSE ALARM": "false alarm", "error": "error"}.get(cell)
            if key:
                totals[tool][key] += 1
            cells.append(cell)
        kind = "malicious" if malicious else "for review" if review else "benign"
        rows.append((name, kind, cells))
    print("| fixture | kind | " + " | ".join(TOOLS) + " |")
    print("|---|---|" + "---|" * len(TOOLS))
    for name, kind, cells in rows:
        print(f"| {name} | {kind} | " + " | ".join(cells) + " |")
    print()
    print("| tool | detected | missed | false alarms | errors |")
    print("|---|---|---|---|---|")
    for tool, t in totals.items():
        print(f"| {tool} | {t['detected']} | {t['missed']} | {t['false alarm']} | {t['error']} |")


if __name__ == "__main__":
    main()
