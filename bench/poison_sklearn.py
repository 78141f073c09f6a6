#!/usr/bin/env python3
"""Label flips in datasets that ship inside scikit-learn (iris, wine, breast cancer,
digits): 5% of each set's labels flipped to another class (seed 0), then `moat data
poison` and cleanlab's `find_label_issues` (5-fold cross-validated logistic regression
probabilities) side by side on the same file. These sets were not used to design the
detectors of `moat data poison`.

    pip install numpy pandas scikit-learn cleanlab
    cargo build --release -p moat && python3 bench/poison_sklearn.py [path/to/moat]
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import pandas as pd
from cleanlab.filter import find_label_issues
from sklearn import datasets
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

target = os.environ.get("CARGO_TARGET_DIR", os.path.join(os.path.dirname(__file__), "..", "target"))
moat = sys.argv[1] if len(sys.argv) > 1 else os.path.join(target, "release", "moat")
work = tempfile.mkdtemp(prefix="moat-poison-sklearn-")

print("| dataset | rows | flipped | moat precision | moat recall | cleanlab precision | cleanlab recall |")
print("|---|---|---|---|---|---|---|")
for name, loader in [
    ("iris", datasets.load_iris),
    ("wine", datasets.load_wine),
    ("breast_cancer", datasets.load_breast_cancer),
    ("digits", datasets.load_digits),
]:
    X, y = loader(return_X_y=True)
    rng = np.random.default_rng(0)
    n = len(y)
    flip = rng.choice(n, max(1, n * 5 // 100), replace=False)
    classes = np.unique(y)
    y2 = y.copy()
    for i in flip:
        y2[i] = rng.choice([c for c in classes if c != y[i]])
    df = pd.DataFrame(X, columns=[f"f{j}" for j in range(X.shape[1])])
    df["label"] = [f"c{v}" for v in y2]
    path = os.path.join(work, f"{name}.csv")
    df.to_csv(path, index=False)
    out = subprocess.run(
        [moat, "data", "poison", path, "--label", "label", "--format", "json"],
        capture_output=True,
        text=True,
    )
    rows = {r["row"] for r in json.loads(out.stdout)["rows"]}
    truth = set(flip.tolist())
    tp = len(rows & truth)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    p = cross_val_predict(model, X, y2, cv=5, method="predict_proba")
    cl = set(np.where(find_label_issues(y2, p))[0].tolist())
    ctp = len(cl & truth)
    print(
        f"| {name} | {n} | {len(truth)} | {tp / max(1, len(rows)):.2f} ({len(rows)} listed) | {tp / len(truth):.2f} "
        f"| {ctp / max(1, len(cl)):.2f} ({len(cl)} listed) | {ctp / len(truth):.2f} |"
    )
