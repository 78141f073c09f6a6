#!/usr/bin/env python3
"""Regenerates the joblib, tar and gzip fixtures of moat-scan's tests with the real
libraries (joblib, numpy, scikit-learn):

    python3 -m venv /tmp/j && /tmp/j/bin/pip install joblib numpy scikit-learn
    /tmp/j/bin/python crates/moat-scan/tests/data/make_joblib_fixtures.py

joblib writes NumPy arrays' raw bytes inside the pickle stream (after the wrapper's
BUILD), and object arrays as a pickle within the pickle: a scanner that reads the file
as a plain pickle false-alarms on every such model, or stops at the first array and
misses what follows. The payloads are harmless (they would only print). What the
scanner must report is in `expected_joblib.json`.
"""
import gzip
import io
import json
import os
import tarfile

import joblib
import numpy as np
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

HERE = os.path.dirname(os.path.abspath(__file__))
fixtures = {}
rng = np.random.default_rng(7)


class Payload:
    def __reduce__(self):
        return (os.system, ("echo moat-fixture",))


def dump(name, obj, expect, **kw):
    joblib.dump(obj, os.path.join(HERE, name), **kw)
    fixtures[name] = expect


X = rng.normal(size=(200, 6))
y = (X[:, 0] + X[:, 1] > 0).astype(int)
clean = {"worst": None, "rules": []}
bad = {"worst": "critical", "rules": ["dangerous-global"], "global": f"{os.system.__module__}.system"}

# Ordinary scikit-learn models, as joblib.dump writes them: clean.
dump("sklearn_pipeline.joblib", make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y), clean)
dump("sklearn_forest.joblib", RandomForestClassifier(n_estimators=3, max_depth=3, random_state=0).fit(X, y), clean)
dump("sklearn_forest_zlib.joblib", RandomForestClassifier(n_estimators=3, max_depth=3, random_state=0).fit(X, y), clean, compress=3)
dump(
    "arrays_of_every_kind.joblib",
    {
        "f32": rng.normal(size=(17, 3)).astype("float32"),
        "i64": np.arange(1000),
        "bytes": np.array([b"ab", b"cde"]),
        "text": np.array(["alpha", "beta"]),
        "when": np.array(["2026-01-01"], dtype="datetime64[ns]"),
        "objects": np.array([{"a": 1}, "x", None], dtype=object),
        "fortran": np.asfortranarray(rng.normal(size=(4, 5))),
        "empty": np.zeros((0, 3)),
    },
    clean,
)
# A payload after an array's raw bytes, and one inside an object array (a pickle within
# the pickle), and both compressed.
dump("payload_after_array.joblib", [rng.normal(size=(64, 64)), Payload()], bad)
dump("payload_in_object_array.joblib", {"w": np.ones(8), "cfg": np.array([Payload()], dtype=object)}, bad)
dump("payload_zlib.joblib", [np.ones(100), Payload()], bad, compress=3)
dump("payload_gzip.joblib", [np.ones(100), Payload()], bad, compress="gzip")
dump("payload_bz2.joblib", [np.ones(100), Payload()], bad, compress="bz2")
dump("payload_xz.joblib", [np.ones(100), Payload()], bad, compress="xz")
dump("payload_lzma.joblib", [np.ones(100), Payload()], bad, compress="lzma")
dump("sklearn_forest_xz.joblib", RandomForestClassifier(n_estimators=3, max_depth=3, random_state=0).fit(X, y), clean, compress="xz")

# A model bundle as SageMaker expects it (model.tar.gz), with a malicious joblib file.
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w:gz") as t:
    for name in ("payload_after_array.joblib",):
        t.add(os.path.join(HERE, name), arcname=f"model/{name}")
    info = tarfile.TarInfo("code/inference.py")
    body = b"def model_fn(d):\n    pass\n"
    info.size = len(body)
    t.addfile(info, io.BytesIO(body))
with open(os.path.join(HERE, "model_bundle.tar.gz"), "wb") as f:
    f.write(buf.getvalue())
fixtures["model_bundle.tar.gz"] = bad

# A gzip-compressed pickle (gzip.open + pickle.dump).
import pickle

with gzip.open(os.path.join(HERE, "gzipped.pkl.gz"), "wb") as f:
    pickle.dump({"w": [1, 2, 3], "p": Payload()}, f, protocol=4)
fixtures["gzipped.pkl.gz"] = bad

# A tar whose member climbs out of the extraction folder, and one linking outside it.
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w") as t:
    info = tarfile.TarInfo("../../outside.txt")
    info.size = 3
    t.addfile(info, io.BytesIO(b"abc"))
    link = tarfile.TarInfo("model/weights.bin")
    link.type = tarfile.SYMTYPE
    link.linkname = "/etc/passwd"
    t.addfile(link)
with open(os.path.join(HERE, "traversal.tar"), "wb") as f:
    f.write(buf.getvalue())
fixtures["traversal.tar"] = {"worst": "high", "rules": ["path-traversal"]}

with open(os.path.join(HERE, "expected_joblib.json"), "w") as f:
    json.dump(fixtures, f, indent=2, sort_keys=True)
    f.write("\n")
