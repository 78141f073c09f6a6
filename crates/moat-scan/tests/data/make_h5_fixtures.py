#!/usr/bin/env python3
"""Regenerates the Keras 2 `.h5` fixtures of moat-scan's tests. Needs h5py (and numpy):

    python3 -m venv /tmp/h5 && /tmp/h5/bin/pip install h5py
    /tmp/h5/bin/python crates/moat-scan/tests/data/make_h5_fixtures.py

Each file is written the way Keras 2 `model.save("m.h5")` lays it out: root attributes
`keras_version`, `backend`, `model_config` (JSON) and a `model_weights` group. The
Lambda payload is harmless (it would only print). `expected_h5.json` says what the
scanner must report for each.
"""
import base64
import json
import marshal
import os

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
fixtures = {}


def config(layers):
    return {"class_name": "Sequential", "config": {"name": "sequential", "layers": layers}}


dense = {"class_name": "Dense", "config": {"name": "dense", "units": 4, "activation": "relu"}}
code = base64.encodebytes(marshal.dumps((lambda x: print("moat-fixture") or x).__code__)).decode()
lam = {
    "class_name": "Lambda",
    "config": {"name": "lambda", "function": [code, None, None], "function_type": "lambda", "arguments": {}},
}


def write(name, cfg, expect, fixed=False, **kw):
    path = os.path.join(HERE, name)
    with h5py.File(path, "w", **kw) as f:
        f.attrs["keras_version"] = "2.15.0"
        f.attrs["backend"] = "tensorflow"
        text = json.dumps(cfg).encode("utf8")
        # h5py 2 wrote bytes as fixed-length strings, h5py 3 as variable-length ones.
        f.attrs["model_config"] = np.bytes_(text) if fixed else text
        w = f.create_group("model_weights")
        w.create_dataset("dense/kernel", data=np.zeros((4, 4), dtype="float32"))
    fixtures[name] = expect


write("keras2_ordinary.h5", config([dense]), {"worst": None, "rules": []})
write("keras2_lambda.h5", config([dense, lam]), {"worst": "critical", "rules": ["dangerous-global"]})
write("keras2_lambda_fixed.h5", config([dense, lam]), {"worst": "critical", "rules": ["dangerous-global"]}, fixed=True)

# The newest file format keeps more than eight attributes in dense storage (a fractal
# heap indexed by a B-tree): h5py and Keras still read them, so a scanner must too.
path = os.path.join(HERE, "keras2_lambda_dense.h5")
with h5py.File(path, "w", libver="latest") as f:
    f.attrs["keras_version"] = "2.15.0"
    f.attrs["backend"] = "tensorflow"
    f.attrs["model_config"] = json.dumps(config([dense, lam])).encode("utf8")
    for i in range(10):
        f.attrs[f"padding_{i}"] = "x"
fixtures["keras2_lambda_dense.h5"] = {"worst": "critical", "rules": ["dangerous-global"]}

with open(os.path.join(HERE, "expected_h5.json"), "w") as f:
    json.dump(fixtures, f, indent=2, sort_keys=True)
    f.write("\n")
