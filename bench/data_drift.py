#!/usr/bin/env python3
"""Whole-command drift benchmark, side by side in one run: `moat data drift` against
Evidently's DataDriftPreset on the same Parquet files, and against the floor — the time
pyarrow takes to read both files and make one histogram per numeric column. CPU time
(user + system, children included) is what is compared: the machines are shared.

    pip install numpy pyarrow evidently "pandas<3"    # Evidently 0.7 needs pandas 2
    python3 bench/data_drift_gen.py /tmp/drift            # 1,000,000 rows x 20 columns
    cargo build --release -p moat && python3 bench/data_drift.py /tmp/drift [path/to/moat]
"""
import json
import os
import resource
import subprocess
import sys
import time

d = sys.argv[1]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
moat = sys.argv[2] if len(sys.argv) > 2 else os.path.join(target, "release", "moat")
ref, cur = os.path.join(d, "reference.parquet"), os.path.join(d, "current.parquet")
INJECTED = {"income", "latency_ms", "segment", "country", "score_b"}


def child_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime, r.ru_maxrss


def run_moat():
    before, _ = child_cpu()
    t = time.perf_counter()
    out = subprocess.run(["/usr/bin/time", "-f", "%M", moat, "data", "drift", cur, "--reference", ref, "--format", "json"],
                         capture_output=True, text=True)
    wall = time.perf_counter() - t
    after, _ = child_cpu()
    peak_kb = int(out.stderr.strip().splitlines()[-1])
    report = json.loads(out.stdout)
    drifted = {c["name"] for c in report["columns"] if c["drifted"]}
    return wall, after - before, peak_kb / 1024, drifted, report["dataset_drift"]


def in_child(code):
    """Runs Python code in a child process so its CPU time and peak memory are its own."""
    before, _ = child_cpu()
    t = time.perf_counter()
    out = subprocess.run(["/usr/bin/time", "-f", "%M", sys.executable, "-c", code], capture_output=True, text=True)
    wall = time.perf_counter() - t
    after, _ = child_cpu()
    if out.returncode != 0:
        return wall, after - before, 0, None, out.stderr[-2000:]
    peak_kb = int(out.stderr.strip().splitlines()[-1])
    return wall, after - before, peak_kb / 1024, out.stdout.strip(), None


FLOOR = f"""
import numpy as np, pyarrow.parquet as pq, pyarrow.types as t
for p in [{ref!r}, {cur!r}]:
    tab = pq.read_table(p)
    for c in tab.column_names:
        col = tab[c]
        if t.is_floating(col.type) or t.is_integer(col.type):
            a = col.to_numpy(zero_copy_only=False).astype(float)
            np.histogram(a[~np.isnan(a)], bins=10)
"""

EVIDENTLY = f"""
import json, pyarrow.parquet as pq
ref = pq.read_table({ref!r}).to_pandas()
cur = pq.read_table({cur!r}).to_pandas()
try:
    from evidently import Report
    from evidently.presets import DataDriftPreset
    snap = Report([DataDriftPreset()]).run(current_data=cur, reference_data=ref)
    d = snap.dict()
    drifted = []
    for m in d.get("metrics", []):
        name = str(m.get("metric_name", "")) + str(m.get("config", {{}}))
        v = m.get("value")
        if "ValueDrift" in name and isinstance(v, (int, float)):
            col = m.get("config", {{}}).get("column")
            thr = m.get("config", {{}}).get("threshold")
            method = str(m.get("config", {{}}).get("method", ""))
            is_p = "p_value" in method or "ks" in method.lower() or "chi" in method.lower()
            if col is not None and thr is not None and ((v < thr) if is_p else (v >= thr)):
                drifted.append(col)
    print(json.dumps(sorted(set(drifted))))
except ImportError:
    from evidently.report import Report
    from evidently.metric_preset import DataDriftPreset
    r = Report(metrics=[DataDriftPreset()])
    r.run(reference_data=ref, current_data=cur)
    res = r.as_dict()
    drifted = []
    for m in res["metrics"]:
        by = m.get("result", {{}}).get("drift_by_columns")
        if by:
            drifted = [k for k, v in by.items() if v.get("drift_detected")]
    print(json.dumps(sorted(drifted)))
"""

rows = []
w, cpu, mem, drifted, ds = run_moat()
rows.append(("moat data drift", w, cpu, mem, drifted))
w, cpu, mem, out, err = in_child(FLOOR)
rows.append(("floor: pyarrow reads both + histograms", w, cpu, mem, None))
w, cpu, mem, out, err = in_child(EVIDENTLY)
ev = set(json.loads(out)) if out else None
rows.append(("Evidently DataDriftPreset", w, cpu, mem, ev))
if err:
    print("Evidently failed:", err, file=sys.stderr)

print("| command | wall | CPU (user+sys) | peak memory | injected drifts found | false alarms |")
print("|---|---|---|---|---|---|")
for name, w, cpu, mem, found in rows:
    hit = "" if found is None else f"{len(found & INJECTED)} of {len(INJECTED)}"
    fa = "" if found is None else ", ".join(sorted(found - INJECTED)) or "none"
    print(f"| {name} | {w:.2f} s | {cpu:.2f} s | {mem:.0f} MB | {hit} | {fa} |")
moat_cpu, floor_cpu, ev_cpu = rows[0][2], rows[1][2], rows[2][2]
print(f"\nmoat / floor CPU: {moat_cpu / floor_cpu:.2f}x; Evidently / moat CPU: {ev_cpu / moat_cpu:.1f}x; dataset drift (moat): {ds}")
