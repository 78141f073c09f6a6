#!/usr/bin/env python3
"""Writes a reference and a current dataset for the drift benchmark: N rows (default
1,000,000) × 20 columns as Parquet — numbers of several distributions, integers, low-
and high-cardinality categories, booleans and missing values — with drift injected into
known columns of the current one. Prints the columns with injected drift.

    pip install numpy pyarrow
    python3 bench/data_drift_gen.py /tmp/drift [N]
"""
import os
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

out = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
os.makedirs(out, exist_ok=True)

# Columns with drift injected into the current dataset, and how.
DRIFTED = {
    "income": "mean +0.5 sd",
    "latency_ms": "scale ×1.6",
    "segment": "a new category at 15%",
    "country": "shares shifted",
    "score_b": "missing 1% -> 25%",
}


def make(seed, current):
    r = np.random.default_rng(seed)
    cols = {}
    cols["age"] = r.normal(40, 12, n).round(0)
    cols["income"] = r.lognormal(10.5, 0.6, n) * (np.exp(0.3) if current else 1.0)
    cols["balance"] = r.normal(5000, 2500, n)
    cols["latency_ms"] = r.gamma(2.0, 30.0, n) * (1.6 if current else 1.0)
    cols["score_a"] = r.uniform(0, 1, n)
    score_b = r.beta(2, 5, n)
    miss = r.uniform(0, 1, n) < (0.25 if current else 0.01)
    cols["score_b"] = pa.array(score_b, mask=miss)
    cols["clicks"] = r.poisson(3.0, n).astype(np.int64)
    cols["items"] = r.integers(1, 20, n).astype(np.int64)
    cols["tenure_days"] = r.exponential(400, n).astype(np.int64)
    cols["discount"] = r.choice([0.0, 0.05, 0.1, 0.2], n, p=[0.6, 0.2, 0.15, 0.05])
    segs = np.array(["retail", "smb", "enterprise", "public"])
    seg = segs[r.choice(4, n, p=[0.5, 0.3, 0.15, 0.05])]
    if current:
        seg = np.where(r.uniform(0, 1, n) < 0.15, "partner", seg)
    cols["segment"] = seg
    countries = np.array(["US", "DE", "FR", "GB", "IN", "BR", "JP", "NG", "MX", "CA", "ES", "IT"])
    p = np.array([30, 10, 8, 9, 12, 6, 5, 4, 5, 4, 4, 3], float)
    if current:
        p = p * np.array([0.6, 1, 1, 1, 2.0, 1, 1, 1.5, 1, 1, 1, 1])
    cols["country"] = countries[r.choice(12, n, p=p / p.sum())]
    cols["channel"] = np.array(["web", "app", "store"])[r.choice(3, n, p=[0.5, 0.4, 0.1])]
    # A stable high-cardinality column: 50,000 ids, Zipf-like.
    ranks = np.minimum(r.zipf(1.3, n), 50_000)
    cols["merchant_id"] = np.char.add("m", ranks.astype(str))
    cols["device"] = np.array(["ios", "android", "other"])[r.choice(3, n, p=[0.45, 0.5, 0.05])]
    cols["is_new"] = r.uniform(0, 1, n) < 0.2
    cols["has_coupon"] = r.uniform(0, 1, n) < 0.35
    cols["rating"] = r.choice([1, 2, 3, 4, 5], n, p=[0.05, 0.1, 0.2, 0.35, 0.3]).astype(np.int64)
    cols["weight"] = r.normal(70, 15, n)
    cols["temperature"] = r.normal(20, 8, n)
    return pa.table(cols)


pq.write_table(make(1, False), os.path.join(out, "reference.parquet"))
pq.write_table(make(2, True), os.path.join(out, "current.parquet"))
for k, v in DRIFTED.items():
    print(f"{k}: {v}")
