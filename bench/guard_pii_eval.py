#!/usr/bin/env python3
"""PII detection quality and speed, side by side: `moat guard scan` against Presidio's
pattern recognizers (pip `presidio-analyzer`; no spaCy model is needed for them) on the
labelled sets `crates/moat-guard/tests/data/pii_eval.jsonl` (Moat's generator, hard
negatives) and `pii_presidio_synth.jsonl` (Presidio's own evaluation data generator).

    pip install presidio-analyzer
    cargo build --release -p moat && python3 bench/guard_pii_eval.py [path/to/moat]

A finding counts when type, start and end are exactly those labelled. Presidio runs with
its defaults (every result, whatever the score, as AnalyzerEngine returns them), each
predefined recognizer for the entity types both tools name.
"""
import json
import os
import subprocess
import sys
import time
from collections import Counter

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA_DIR = os.path.join(ROOT, "crates", "moat-guard", "tests", "data")
target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
MOAT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(target, "release", "moat")
TYPES = ["CREDIT_CARD", "EMAIL_ADDRESS", "IBAN_CODE", "IP_ADDRESS", "PHONE_NUMBER", "US_SSN"]



def score(rows, pred):
    tp, fp, fn = Counter(), Counter(), Counter()
    for r in rows:
        gold = {(s["type"], s["start"], s["end"]) for s in r["spans"] if s["type"] in TYPES}
        got = {p for p in pred[r["id"]] if p[0] in TYPES}
        for g in gold:
            (tp if g in got else fn)[g[0]] += 1
        for p in got - gold:
            fp[p[0]] += 1
    return tp, fp, fn


from presidio_analyzer.predefined_recognizers import (
    CreditCardRecognizer,
    EmailRecognizer,
    IbanRecognizer,
    IpRecognizer,
    PhoneRecognizer,
    UsSsnRecognizer,
)

recognizers = [CreditCardRecognizer(), EmailRecognizer(), IbanRecognizer(), IpRecognizer(), PhoneRecognizer(), UsSsnRecognizer()]


def compare(name):
    data = os.path.join(DATA_DIR, name)
    rows = [json.loads(l) for l in open(data, encoding="utf-8")]
    size_mb = sum(len(r["text"].encode()) for r in rows) / 1e6
    t = time.perf_counter()
    out = subprocess.run([MOAT, "guard", "scan", data, "--jsonl", "--format", "jsonl"], capture_output=True, text=True).stdout
    moat_s = time.perf_counter() - t
    moat = {}
    for line in out.splitlines():
        o = json.loads(line)
        moat[o["id"]] = {(f["type"], f["start"], f["end"]) for f in o["findings"]}
    t = time.perf_counter()
    presidio = {}
    for r in rows:
        found = set()
        for rec in recognizers:
            for res in rec.analyze(r["text"], rec.supported_entities, None) or []:
                found.add((res.entity_type, res.start, res.end))
        presidio[r["id"]] = found
    presidio_s = time.perf_counter() - t
    print(f"### {name}\n\n{len(rows)} texts, {size_mb:.2f} MB; moat {moat_s:.2f} s (whole command), Presidio recognizers {presidio_s:.2f} s (in process)\n")
    print("| type | moat precision | moat recall | Presidio precision | Presidio recall |")
    print("|---|---|---|---|---|")
    m, p = score(rows, moat), score(rows, presidio)
    for ty in TYPES:
        def pr(c):
            tp, fp, fn = c[0][ty], c[1][ty], c[2][ty]
            return tp / max(1, tp + fp), tp / max(1, tp + fn)
        mp, mr = pr(m)
        pp, prr = pr(p)
        print(f"| {ty} | {mp:.3f} | {mr:.3f} | {pp:.3f} | {prr:.3f} |")
    print(f"\nthroughput: moat {size_mb / moat_s:.2f} MB/s (process start and JSON included), Presidio recognizers {size_mb / presidio_s:.2f} MB/s\n")


for name in ("pii_eval.jsonl", "pii_presidio_synth.jsonl"):
    compare(name)

# Throughput on a larger text: the Presidio-generated sentences repeated to 4 MB, as one
# document (moat: the whole command, process start included; Presidio: in process).
rows = [json.loads(l) for l in open(os.path.join(DATA_DIR, "pii_presidio_synth.jsonl"), encoding="utf-8")]
base = "\n".join(r["text"] for r in rows)
big = (base + "\n") * max(1, (4 << 20) // (len(base.encode()) + 1))
path = "/tmp/moat_guard_throughput.txt"
with open(path, "w", encoding="utf-8") as f:
    f.write(big)
mb = len(big.encode()) / 1e6
t = time.perf_counter()
subprocess.run([MOAT, "guard", "scan", path, "--format", "jsonl"], capture_output=True)
moat_s = time.perf_counter() - t
t = time.perf_counter()
for rec in recognizers:
    rec.analyze(big, rec.supported_entities, None)
presidio_s = time.perf_counter() - t
print(f"### throughput, one {mb:.1f} MB document\n")
print(f"moat {mb / moat_s:.1f} MB/s, Presidio recognizers {mb / presidio_s:.2f} MB/s: moat {presidio_s / moat_s:.0f}x faster")
