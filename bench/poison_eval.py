#!/usr/bin/env python3
"""Precision and recall of `moat data poison` on the datasets `bench/poison_gen.py`
writes, with and without the clean reference: a row counts as found when the report
lists it (score at or above the default 0.5). Recall is also given per attack.

Side by side, when cleanlab and scikit-learn are installed: cleanlab's
`find_label_issues` on out-of-fold predicted probabilities (5-fold, a gradient-boosted
model on the one-hot features, or multinomial naive Bayes on word counts for text) —
the established way to find mislabelled rows. It looks for label errors only, so its
recall is given per attack as well.

    pip install numpy cleanlab scikit-learn pandas
    python3 bench/poison_gen.py /tmp/poison
    cargo build --release -p moat && python3 bench/poison_eval.py /tmp/poison [path/to/moat]
"""
import json
import os
import subprocess
import sys
import time

d = sys.argv[1] if len(sys.argv) > 1 else "/tmp/poison"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
moat = sys.argv[2] if len(sys.argv) > 2 else os.path.join(target, "release", "moat")
LABELS = {"tabular": "label", "text": "sentiment", "mixed": "churn"}

total = {False: [0, 0, 0], True: [0, 0, 0]}  # found poisoned, listed, poisoned
for name, label in LABELS.items():
    truth = {t["row"]: t["attack"] for t in json.load(open(os.path.join(d, f"{name}.truth.json")))}
    for with_ref in (False, True):
        args = [moat, "data", "poison", os.path.join(d, f"{name}.csv"), "--label", label, "--id", "id", "--format", "json"]
        if with_ref:
            args += ["--reference", os.path.join(d, f"{name}.clean.csv")]
        t = time.perf_counter()
        out = subprocess.run(args, capture_output=True, text=True)
        wall = time.perf_counter() - t
        if out.returncode not in (0, 1):
            sys.exit(f"{name}: moat failed: {out.stderr}")
        report = json.loads(out.stdout)
        listed = {r["row"] for r in report["rows"]}
        hit = listed & truth.keys()
        p = len(hit) / max(len(listed), 1)
        r = len(hit) / max(len(truth), 1)
        per = {}
        for row, attack in truth.items():
            per.setdefault(attack, [0, 0])
            per[attack][1] += 1
            per[attack][0] += row in listed
        per_s = ", ".join(f"{a} {f}/{n}" for a, (f, n) in sorted(per.items()))
        print(f"{name:8} {'reference' if with_ref else 'alone    '}  precision {p:.3f}  recall {r:.3f}  "
              f"listed {len(listed):5}  poisoned {len(truth):4}  ({per_s})  {wall:.2f} s")
        total[with_ref][0] += len(hit)
        total[with_ref][1] += len(listed)
        total[with_ref][2] += len(truth)
for with_ref, (h, l, n) in total.items():
    print(f"all      {'reference' if with_ref else 'alone    '}  precision {h / max(l, 1):.3f}  recall {h / max(n, 1):.3f}")


def cleanlab_side():
    try:
        import numpy as np
        import pandas as pd
        from cleanlab.filter import find_label_issues
        from sklearn.ensemble import HistGradientBoostingClassifier
        from sklearn.feature_extraction.text import CountVectorizer
        from sklearn.model_selection import cross_val_predict
        from sklearn.naive_bayes import MultinomialNB
    except ImportError as e:
        print(f"(cleanlab side by side skipped: {e})")
        return
    h_all = l_all = n_all = 0
    for name, label in LABELS.items():
        truth = {t["row"]: t["attack"] for t in json.load(open(os.path.join(d, f"{name}.truth.json")))}
        t0 = time.process_time()
        df = pd.read_csv(os.path.join(d, f"{name}.csv"))
        y_names = df[label].astype(str)
        classes = sorted(y_names.unique())
        y = y_names.map({c: i for i, c in enumerate(classes)}).to_numpy()
        feats = df.drop(columns=[label, "id"])
        text_cols = [c for c in feats.columns
                     if not pd.api.types.is_numeric_dtype(feats[c]) and feats[c].astype(str).str.count(" ").mean() >= 3]
        if text_cols:
            X = CountVectorizer().fit_transform(feats[text_cols].astype(str).agg(" ".join, axis=1))
            model = MultinomialNB()
        else:
            X = pd.get_dummies(feats).to_numpy(dtype=float)
            model = HistGradientBoostingClassifier(random_state=0)
        probs = cross_val_predict(model, X, y, cv=5, method="predict_proba")
        issues = set(np.flatnonzero(find_label_issues(y, probs)).tolist())
        cpu = time.process_time() - t0
        hit = issues & truth.keys()
        per = {}
        for row, attack in truth.items():
            per.setdefault(attack, [0, 0])
            per[attack][1] += 1
            per[attack][0] += row in issues
        per_s = ", ".join(f"{a} {f}/{n}" for a, (f, n) in sorted(per.items()))
        print(f"{name:8} cleanlab   precision {len(hit) / max(len(issues), 1):.3f}  recall {len(hit) / max(len(truth), 1):.3f}  "
              f"listed {len(issues):5}  poisoned {len(truth):4}  ({per_s})  {cpu:.2f} CPU s")
        h_all += len(hit)
        l_all += len(issues)
        n_all += len(truth)
    print(f"all      cleanlab   precision {h_all / max(l_all, 1):.3f}  recall {h_all / max(n_all, 1):.3f}")


cleanlab_side()
