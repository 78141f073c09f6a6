#!/usr/bin/env python3
"""Writes `stats_reference.json`: two-sample statistics computed by scipy (and numpy for
PSI) on generated samples, which `moat-data`'s tests reproduce. Samples are multiples of
1/1024 so that they survive JSON exactly; sizes cover the exact and the asymptotic
branches of the Kolmogorov–Smirnov p-value (equal and unequal sizes, ties), and counts
cover chi-square and Jensen–Shannon.

    pip install numpy scipy
    python3 crates/moat-data/tests/data/make_stats_reference.py
"""
import json
import os

import numpy as np
import scipy
from scipy import stats
from scipy.spatial.distance import jensenshannon

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "stats_reference.json")
rng = np.random.default_rng(20261203)


def q(x):
    return np.round(np.asarray(x) * 1024) / 1024


def sample(kind, n, shift=0.0):
    if kind == "normal":
        return q(rng.normal(shift, 1.0, n))
    if kind == "lognormal":
        return q(rng.lognormal(shift, 0.8, n))
    if kind == "ties":
        return q(rng.integers(0, 12, n) + shift)
    if kind == "uniform":
        return q(rng.uniform(shift, 1 + shift, n))
    raise ValueError(kind)


numeric = []
for kind, n1, n2, shift in [
    ("normal", 5, 7, 0.0), ("normal", 8, 8, 1.5), ("normal", 20, 20, 0.3), ("ties", 30, 45, 0.0),
    ("normal", 100, 150, 0.2), ("lognormal", 400, 400, 0.1), ("uniform", 700, 1000, 0.05),
    ("ties", 1000, 1200, 1.0), ("normal", 3000, 3000, 0.05), ("normal", 2500, 9000, 0.0),
    ("normal", 12000, 15000, 0.02), ("lognormal", 20000, 11000, 0.0), ("ties", 10500, 12000, 0.0),
    ("normal", 200, 30000, 0.5),
]:
    a, b = sample(kind, n1), sample(kind, n2, shift)
    ks = stats.ks_2samp(a, b)
    numeric.append({
        "name": f"{kind} {n1}x{n2} shift {shift}",
        "a": [int(v * 1024) for v in a], "b": [int(v * 1024) for v in b],
        "ks_statistic": float(ks.statistic), "ks_pvalue": float(ks.pvalue),
        "ks_exact": max(n1, n2) <= 10000,
        "wasserstein": float(stats.wasserstein_distance(a, b)),
        "reference_std": float(np.std(a)),
    })

# The Kolmogorov distribution on its own: kstwo.sf(d, n) over every branch scipy takes.
kstwo = []
for n in [1, 2, 5, 30, 100, 140, 141, 500, 2000, 10000, 99999, 100001, 500000]:
    for d in [0.001, 0.004, 0.01, 0.02, 0.05, 0.08, 0.12, 0.2, 0.35, 0.5, 0.7, 0.95]:
        kstwo.append({"n": n, "d": d, "sf": float(stats.kstwo.sf(d, n))})

categorical = []
for k, n1, n2, drift in [(2, 50, 60, 0.0), (3, 400, 500, 0.1), (5, 1000, 800, 0.0), (12, 5000, 7000, 0.05), (40, 20000, 20000, 0.02), (2, 300, 400, 0.4)]:
    p = rng.dirichlet(np.ones(k) * 2)
    q2 = (1 - drift) * p + drift * rng.dirichlet(np.ones(k))
    ref = rng.multinomial(n1, p)
    cur = rng.multinomial(n2, q2)
    ref = np.maximum(ref, 1)  # every category seen in the reference
    f_exp = ref * (cur.sum() / ref.sum())
    chi = stats.chisquare(cur, f_exp)
    con = stats.chi2_contingency(np.array([ref, cur]))
    categorical.append({
        "name": f"{k} categories {n1}/{n2} drift {drift}",
        "reference": ref.tolist(), "current": cur.tolist(),
        "chi2_statistic": float(chi.statistic), "chi2_pvalue": float(chi.pvalue),
        "contingency_statistic": float(con.statistic), "contingency_pvalue": float(con.pvalue),
        "contingency_dof": int(con.dof),
        "jensenshannon": float(jensenshannon(ref / ref.sum(), cur / cur.sum())),
    })

# PSI on fixed bins (edges from the reference's deciles), zero shares floored at 0.0001.
psi = []
for n1, n2, shift in [(1000, 1000, 0.0), (5000, 4000, 0.3), (2000, 3000, 1.0)]:
    a, b = sample("normal", n1), sample("normal", n2, shift)
    edges = np.quantile(a, np.linspace(0, 1, 11))
    edges[0], edges[-1] = -np.inf, np.inf
    ra = np.histogram(a, edges)[0] / n1
    rb = np.histogram(b, edges)[0] / n2
    ra = np.where(ra == 0, 0.0001, ra)
    rb = np.where(rb == 0, 0.0001, rb)
    psi.append({
        "a": [int(v * 1024) for v in a], "b": [int(v * 1024) for v in b],
        "edges": [float(e) for e in edges[1:-1]],
        "psi": float(np.sum((ra - rb) * np.log(ra / rb))),
    })

# Shapiro-Wilk on normal and non-normal samples, over every branch of the p-value
# (n = 3, 4..11, 12 and above), and the normal quantile it is built on.
shapiro = []
for kind, n in [("normal", 3), ("uniform", 3), ("normal", 7), ("lognormal", 9), ("normal", 11),
                ("normal", 12), ("uniform", 30), ("normal", 50), ("lognormal", 100), ("ties", 200),
                ("normal", 1000), ("uniform", 4000), ("normal", 5000)]:
    a = sample(kind, n)
    r = stats.shapiro(a)
    shapiro.append({"name": f"{kind} {n}", "a": [int(v * 1024) for v in a],
                    "w": float(r.statistic), "p": float(r.pvalue)})
ndtri = [{"p": p, "z": float(stats.norm.ppf(p))}
         for p in [1e-300, 1e-20, 1e-8, 0.001, 0.02, 0.075, 0.3, 0.5, 0.6, 0.925, 0.999, 1 - 1e-12]]

with open(OUT, "w") as f:
    json.dump({"scipy": scipy.__version__, "numpy": np.__version__, "numeric": numeric, "kstwo": kstwo,
               "categorical": categorical, "psi": psi, "shapiro": shapiro, "ndtri": ndtri}, f)
print(f"wrote {OUT}")
