#!/usr/bin/env python3
"""Regenerates the pickle fixtures of moat-scan's tests (Python stdlib only).

    python3 crates/moat-scan/tests/data/make_fixtures.py

Every fixture is written by CPython's own pickle module. The malicious ones carry
harmless payloads (they would only print); `expected.json` says what the scanner must
report for each: the worst severity and the rules, and the dangerous global it names.
"""
import collections
import json
import os
import pickle
import argparse

HERE = os.path.dirname(os.path.abspath(__file__))


class Payload:
    def __reduce__(self):
        return (os.system, ("echo moat-fixture",))


class EvalPayload:
    def __reduce__(self):
        return (eval, ("print('moat-fixture')",))


class Nested:
    def __reduce__(self):
        return (pickle.loads, (pickle.dumps(Payload(), protocol=2),))


fixtures = {}


def write(name, data, expect):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)
    fixtures[name] = expect


benign = {
    "weights": [0.5, 1.5, 2.5],
    "layers": collections.OrderedDict([("fc1", [1, 2, 3]), ("fc2", list(range(100)))]),
    "args": argparse.Namespace(lr=0.01, epochs=3),
    "blob": b"\x00\x01binary",
    "nested": {"a": (1, 2, {"b": None})},
}
selfref = []
selfref.append(selfref)
benign["selfref"] = selfref

for proto in range(0, 6):
    write(f"benign_p{proto}.pkl", pickle.dumps(benign, protocol=proto), {"worst": None, "rules": []})
    write(
        f"os_system_p{proto}.pkl",
        pickle.dumps(Payload(), protocol=proto),
        {"worst": "critical", "rules": ["dangerous-global"], "global": f"{os.system.__module__}.system"},
    )

write("eval_p2.pkl", pickle.dumps(EvalPayload(), protocol=2), {"worst": "critical", "rules": ["dangerous-global"], "global": "builtins.eval"})
write(
    "nested_loads_p4.pkl",
    pickle.dumps(Nested(), protocol=4),
    {"worst": "critical", "rules": ["dangerous-global", "nested-pickle"], "global": "_pickle.loads"},
)
# Broken pickle ("nullifAI"): the payload runs, then the stream is cut and garbage follows.
payload = pickle.dumps(Payload(), protocol=2)
write(
    "broken_after_payload.pkl",
    payload[:-1] + b"\xff\xfe garbage",
    {"worst": "critical", "rules": ["dangerous-global", "broken-pickle"], "global": f"{os.system.__module__}.system"},
)
# getattr(__import__('os'), 'system')('echo moat-fixture'), hand-assembled in protocol 0.
write(
    "getattr_import_p0.pkl",
    b"cbuiltins\ngetattr\n(cbuiltins\n__import__\n(S'os'\ntRS'system'\ntR(S'echo moat-fixture'\ntR.",
    {"worst": "critical", "rules": ["dangerous-global"], "global": "os.system"},
)
# A user class from __main__: unknown, medium.
class Model:
    def __init__(self):
        self.w = [1, 2]


write("main_class_p4.pkl", pickle.dumps(Model(), protocol=4), {"worst": "medium", "rules": ["unknown-global"]})

# PyTorch-style zip checkpoints (what torch.save writes: archive/data.pkl, tensor
# records under archive/data/, a version record), built with zipfile.
import io
import zipfile

# Fixed timestamps, so that regenerating gives the same bytes.
_writestr = zipfile.ZipFile.writestr


def _fixed_writestr(self, name, data, compress_type=None):
    if isinstance(name, str):
        name = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
        name.compress_type = self.compression if compress_type is None else compress_type
        name.external_attr = 0o600 << 16
    return _writestr(self, name, data)


zipfile.ZipFile.writestr = _fixed_writestr


def torch_zip(pkl):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", pkl)
        z.writestr("archive/data/0", bytes(range(256)) * 64)
        z.writestr("archive/version", "3\n")
    return buf.getvalue()


state = collections.OrderedDict([("weight", [0.1, 0.2]), ("bias", [0.0])])
write("benign_state_dict.pt", torch_zip(pickle.dumps(state, protocol=2)), {"worst": None, "rules": []})
write(
    "malicious_checkpoint.bin",
    torch_zip(pickle.dumps(Payload(), protocol=2)),
    {"worst": "critical", "rules": ["dangerous-global"], "global": f"{os.system.__module__}.system"},
)
# A deflated member works too.
buf = io.BytesIO()
with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
    z.writestr("model/data.pkl", pickle.dumps(EvalPayload(), protocol=4))
write("deflated_checkpoint.pth", buf.getvalue(), {"worst": "critical", "rules": ["dangerous-global"], "global": "builtins.eval"})
# A NumPy object array holds a pickle (numpy.save with allow_pickle), written by hand
# with the format's header so numpy is not needed here.
def npy_object(obj):
    header = "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }"
    header += " " * (63 - (10 + len(header)) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode() + pickle.dumps([obj], protocol=3)


write("object_array.npy", npy_object(Payload()), {"worst": "critical", "rules": ["dangerous-global"], "global": f"{os.system.__module__}.system"})
write("benign_object_array.npy", npy_object({"a": 1}), {"worst": None, "rules": []})

# Published bypasses of other scanners.
# CVE-2025-1716: pip.main, missing from a deny list.
write(
    "cve_2025_1716_pip_main.pkl",
    b"\x80\x02cpip\nmain\n]q\x00(X\x07\x00\x00\x00installX\x06\x00\x00\x00--helpe\x85R.",
    {"worst": "critical", "rules": ["dangerous-global"], "global": "pip.main"},
)
# CVE-2025-1889: a pickle in an archive member without a pickle extension.
buf = io.BytesIO()
with zipfile.ZipFile(buf, "w") as z:
    z.writestr("archive/data.pkl", pickle.dumps(state, protocol=2))
    z.writestr("archive/extra/config.p", pickle.dumps(Payload(), protocol=2))
write(
    "cve_2025_1889_hidden_member.pt",
    buf.getvalue(),
    {"worst": "critical", "rules": ["dangerous-global"], "global": f"{os.system.__module__}.system"},
)
# CVE-2025-1944: the local header names the member differently from the central
# directory; Python's zipfile refuses the archive, PyTorch reads it.
evil = bytearray(torch_zip(pickle.dumps(Payload(), protocol=2)))
at = evil.find(b"archive/data.pkl")  # the first occurrence is the local header's
evil[at : at + 16] = b"archive/data.pkX"
write(
    "cve_2025_1944_name_mismatch.pt",
    bytes(evil),
    {"worst": "critical", "rules": ["dangerous-global", "broken-pickle"], "global": f"{os.system.__module__}.system"},
)
# CVE-2025-1945: general-purpose flag bits (here "encrypted") set on every member;
# Python's zipfile refuses, PyTorch ignores them.
evil = bytearray(torch_zip(pickle.dumps(Payload(), protocol=2)))
for sig, flag_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
    i = evil.find(sig)
    while i != -1:
        evil[i + flag_at] |= 0x01
        i = evil.find(sig, i + 4)
write(
    "cve_2025_1945_flag_bits.pt",
    bytes(evil),
    {"worst": "critical", "rules": ["dangerous-global"], "global": f"{os.system.__module__}.system"},
)

# safetensors, written by hand from the format: an honest file, and one whose header lies.
import struct


def safetensors(header, data):
    h = json.dumps(header).encode()
    return struct.pack("<Q", len(h)) + h + data


write(
    "good.safetensors",
    safetensors({"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}, "__metadata__": {"format": "pt"}}, bytes(16)),
    {"worst": None, "rules": []},
)
write(
    "overlapping.safetensors",
    safetensors(
        {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}},
        bytes(12),
    ),
    {"worst": "high", "rules": ["malformed-header"]},
)

# GGUF metadata with a chat template: an ordinary one, and one reaching Python internals
# (the CVE-2024-34359 class), written by hand from the format (version 3).
def gguf(kvs):
    out = b"GGUF" + struct.pack("<IQQ", 3, 0, len(kvs))
    for k, v in kvs:
        kb, vb = k.encode(), v.encode()
        out += struct.pack("<Q", len(kb)) + kb + struct.pack("<IQ", 8, len(vb)) + vb
    return out


write(
    "chat_template_ok.gguf",
    gguf([("general.architecture", "llama"), ("tokenizer.chat_template", "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}")]),
    {"worst": None, "rules": []},
)
write(
    "cve_2024_34359_chat_template.gguf",
    gguf([("tokenizer.chat_template", "{{ ().__class__.__base__.__subclasses__()[140].__init__.__globals__['popen']('echo moat-fixture').read() }}")]),
    {"worst": "critical", "rules": ["template-injection"]},
)

# Keras v3 .keras files (zips of config.json, metadata.json and weights), written by
# hand: an ordinary model, one with a Lambda layer carrying marshalled bytecode (the
# CVE-2024-3660 class), one with a custom object.
import base64
import marshal


def keras_file(layers):
    config = {
        "module": "keras",
        "class_name": "Sequential",
        "config": {"name": "sequential", "layers": layers},
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("config.json", json.dumps(config))
        z.writestr("metadata.json", json.dumps({"keras_version": "3.6.0"}))
        z.writestr("model.weights.h5", b"\x89HDF\r\n\x1a\n")
    return buf.getvalue()


dense = {"module": "keras.layers", "class_name": "Dense", "config": {"name": "dense", "units": 4}}
code = base64.b64encode(marshal.dumps((lambda x: print("moat-fixture") or x).__code__)).decode()
lam = {
    "module": "keras.layers",
    "class_name": "Lambda",
    "config": {"name": "lambda", "function": {"class_name": "__lambda__", "config": {"code": code, "defaults": None, "closure": None}}},
}
custom = {"module": "acme_layers", "class_name": "FancyAttention", "config": {"name": "fancy"}}
write("ordinary.keras", keras_file([dense]), {"worst": None, "rules": []})
write("lambda_bytecode.keras", keras_file([dense, lam]), {"worst": "critical", "rules": ["dangerous-global"]})
write("custom_object.keras", keras_file([dense, custom]), {"worst": "medium", "rules": ["unknown-global"]})

# What torch.save and scikit-learn really write, without either installed: stand-in
# modules with the same names make CPython's pickler emit the same opcodes (GLOBAL
# torch._utils._rebuild_tensor_v2, persistent ids naming storages, NEWOBJ of an estimator
# class, numpy.core.multiarray._reconstruct for arrays).
import sys
import types


def fake_module(name, **attrs):
    mod = types.ModuleType(name)
    for k, v in attrs.items():
        if isinstance(v, type) or callable(v):
            v.__module__ = name
            v.__qualname__ = k
        setattr(mod, k, v)
    sys.modules[name] = mod
    return mod


def _rebuild_tensor_v2(*args):
    return args


class FloatStorage:
    pass


fake_module("torch")
fake_module("torch._utils", _rebuild_tensor_v2=_rebuild_tensor_v2)
sys.modules["torch"].FloatStorage = FloatStorage
FloatStorage.__module__ = "torch"


class Tensor:
    def __init__(self, key, shape):
        self.key, self.shape = key, shape

    def __reduce_ex__(self, proto):
        storage = StorageRef(self.key, self.shape[0] * (self.shape[1] if len(self.shape) > 1 else 1))
        stride = (self.shape[1], 1) if len(self.shape) > 1 else (1,)
        return (_rebuild_tensor_v2, (storage, 0, self.shape, stride, False, collections.OrderedDict()))


class StorageRef:
    def __init__(self, key, numel):
        self.key, self.numel = key, numel


class TorchPickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, StorageRef):
            return ("storage", FloatStorage, obj.key, "cpu", obj.numel)
        return None


def torch_save_pickle(obj):
    buf = io.BytesIO()
    TorchPickler(buf, protocol=2).dump(obj)
    return buf.getvalue()


real_state = collections.OrderedDict(
    [("fc1.weight", Tensor("0", (4, 8))), ("fc1.bias", Tensor("1", (4,))), ("fc2.weight", Tensor("2", (2, 4)))]
)
real_state._metadata = collections.OrderedDict([("", {"version": 1}), ("fc1", {"version": 1})])
checkpoint = {
    "epoch": 3,
    "model_state_dict": real_state,
    "args": argparse.Namespace(lr=0.01, epochs=3),
    "note": "fine-tuned".encode(),
}
write("torch_save_checkpoint.pt", torch_zip(torch_save_pickle(checkpoint)), {"worst": None, "rules": []})


# A scikit-learn estimator holding NumPy arrays, as joblib/pickle write it.
def _reconstruct(*args):
    return args


class ndarray:
    def __init__(self, data):
        self.data = data

    def __reduce__(self):
        return (_reconstruct, (ndarray, (0,), b"b"), (1, (len(self.data),), dtype("f8"), False, bytes(8 * len(self.data))))


class dtype:
    def __init__(self, code):
        self.code = code

    def __reduce__(self):
        return (dtype, (self.code, False, True), (3, "<", None, None, None, -1, -1, 0))


fake_module("numpy", ndarray=ndarray, dtype=dtype)
fake_module("numpy.core")
fake_module("numpy.core.multiarray", _reconstruct=_reconstruct)


class LogisticRegression:
    def __init__(self):
        self.C = 1.0
        self.penalty = "l2"
        self.coef_ = ndarray([0.5, -0.25, 1.0])
        self.intercept_ = ndarray([0.1])
        self.classes_ = ndarray([0, 1])
        self._sklearn_version = "1.5.2"


fake_module("sklearn")
fake_module("sklearn.linear_model")
fake_module("sklearn.linear_model._logistic", LogisticRegression=LogisticRegression)
write("sklearn_estimator.pkl", pickle.dumps(LogisticRegression(), protocol=4), {"worst": None, "rules": []})

# Legacy (pre-zip) PyTorch files: five pickles (magic number, protocol, system info,
# the object, the storage keys), then raw storage bytes, as torch.save wrote before 1.6.
def legacy_torch(obj):
    out = pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2)
    out += pickle.dumps(1001, protocol=2)
    out += pickle.dumps({"protocol_version": 1001, "little_endian": True, "type_sizes": {"short": 2, "int": 4, "long": 4}}, protocol=2)
    out += pickle.dumps(obj, protocol=2)
    out += pickle.dumps(["0"], protocol=2)
    # One storage: its element count, then its bytes (which may start like a pickle).
    return out + struct.pack("<q", 4) + b"\x80\x02\xff\xff" + bytes(12)


write("legacy_benign.pt", legacy_torch(state), {"worst": None, "rules": []})
write(
    "legacy_malicious.pt",
    legacy_torch(Payload()),
    {"worst": "critical", "rules": ["dangerous-global"], "global": f"{os.system.__module__}.system"},
)

# An archive member named to climb out of the folder it is extracted to.
buf = io.BytesIO()
with zipfile.ZipFile(buf, "w") as z:
    z.writestr("archive/data.pkl", pickle.dumps(state, protocol=2))
    z.writestr("../../outside.txt", b"moat-fixture")
write("traversal_member.pt", buf.getvalue(), {"worst": "medium", "rules": ["path-traversal"]})


# Protobuf graph formats, encoded by hand from their .proto definitions (no onnx or
# tensorflow needed): field numbers as in onnx.proto3 and tensorflow's
# saved_model.proto, meta_graph.proto, graph.proto, node_def.proto, function.proto.
def varint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def pb_int(field, n):
    return varint(field << 3) + varint(n)


def pb_bytes(field, data):
    if isinstance(data, str):
        data = data.encode()
    return varint(field << 3 | 2) + varint(len(data)) + data


def onnx_model(nodes, initializers=(), opsets=(("", 17),)):
    graph = b"".join(pb_bytes(1, n) for n in nodes) + pb_bytes(2, "g")
    graph += b"".join(pb_bytes(5, t) for t in initializers)
    graph += pb_bytes(11, pb_bytes(1, "x")) + pb_bytes(12, pb_bytes(1, "y"))
    model = pb_int(1, 9) + pb_bytes(2, "moat-fixtures") + pb_bytes(7, graph)
    model += b"".join(pb_bytes(8, pb_bytes(1, d) + pb_int(2, v)) for d, v in opsets)
    return model


def onnx_node(op, inputs, outputs, domain="", attrs=b""):
    n = b"".join(pb_bytes(1, i) for i in inputs) + b"".join(pb_bytes(2, o) for o in outputs)
    n += pb_bytes(3, op.lower()) + pb_bytes(4, op) + attrs
    if domain:
        n += pb_bytes(7, domain)
    return n


def onnx_tensor(name, location=None):
    t = pb_int(1, 2) + pb_int(2, 1) + pb_bytes(8, name)
    if location is None:
        return t + pb_bytes(9, bytes(8))
    t += pb_bytes(13, pb_bytes(1, "location") + pb_bytes(2, location))
    t += pb_bytes(13, pb_bytes(1, "offset") + pb_bytes(2, "0"))
    return t + pb_int(14, 1)


add_node = onnx_node("Add", ["x", "w"], ["y"])
write("ordinary.onnx", onnx_model([add_node], [onnx_tensor("w")]), {"worst": None, "rules": []})
write("external_data_inside.onnx", onnx_model([add_node], [onnx_tensor("w", "weights/w.bin")]), {"worst": None, "rules": []})
write(
    "external_data_escape.onnx",
    onnx_model([add_node], [onnx_tensor("w", "../../../../etc/passwd")]),
    {"worst": "high", "rules": ["path-traversal"]},
)
# The escaping tensor hides in the else-branch of an If node's sub-graph.
sub = pb_bytes(5, onnx_tensor("k", "/home/user/.ssh/id_rsa")) + pb_bytes(2, "else")
if_node = onnx_node("If", ["c"], ["y"], attrs=pb_bytes(5, pb_bytes(1, "else_branch") + pb_int(20, 5) + pb_bytes(6, sub)))
write("subgraph_escape.onnx", onnx_model([if_node]), {"worst": "high", "rules": ["path-traversal"]})
write(
    "custom_domain.onnx",
    onnx_model([onnx_node("FastGelu", ["x"], ["y"], "com.acme.ops")], opsets=(("", 17), ("com.acme.ops", 1))),
    {"worst": "medium", "rules": ["custom-operator"]},
)
write(
    "contrib_ops.onnx",
    onnx_model([onnx_node("FusedMatMul", ["x", "x"], ["y"], "com.microsoft")], opsets=(("", 17), ("com.microsoft", 1))),
    {"worst": None, "rules": []},
)


def tf_node(name, op, attrs=()):
    n = pb_bytes(1, name) + pb_bytes(2, op) + pb_bytes(3, "x")
    for k, v in attrs:
        n += pb_bytes(5, pb_bytes(1, k) + pb_bytes(2, pb_bytes(2, v)))
    return n


def saved_model(nodes, functions=()):
    graph = b"".join(pb_bytes(1, n) for n in nodes)
    lib = b""
    for fname, fnodes in functions:
        lib += pb_bytes(1, pb_bytes(1, pb_bytes(1, fname)) + b"".join(pb_bytes(3, n) for n in fnodes))
    if lib:
        graph += pb_bytes(2, lib)
    graph += pb_bytes(4, pb_int(1, 1087))
    meta = pb_bytes(1, pb_bytes(4, "serve")) + pb_bytes(2, graph)
    return pb_int(1, 1) + pb_bytes(2, meta)


# Every SavedModel carries its own checkpoint operations: not findings.
ckpt = [tf_node("saver/SaveV2", "SaveV2"), tf_node("saver/RestoreV2", "RestoreV2"), tf_node("saver/Merge", "MergeV2Checkpoints")]
write("ordinary_saved_model.pb", saved_model([tf_node("dense/MatMul", "MatMul")] + ckpt), {"worst": None, "rules": []})
write(
    "readfile_saved_model.pb",
    saved_model([tf_node("dense/MatMul", "MatMul")] + ckpt, [("__inference_serve_42", [tf_node("ReadFile", "ReadFile"), tf_node("WriteFile", "WriteFile")])]),
    {"worst": "high", "rules": ["dangerous-operator"]},
)
write(
    "pyfunc_saved_model.pb",
    saved_model([tf_node("py", "PyFunc", [("token", "pyfunc_0")])] + ckpt),
    {"worst": "critical", "rules": ["dangerous-operator"]},
)
write(
    "print_to_file_saved_model.pb",
    saved_model([tf_node("log", "PrintV2", [("output_stream", "file:///tmp/moat-fixture")])] + ckpt),
    {"worst": "high", "rules": ["dangerous-operator"]},
)
write(
    "print_to_stderr_saved_model.pb",
    saved_model([tf_node("log", "PrintV2", [("output_stream", "stderr")])] + ckpt),
    {"worst": None, "rules": []},
)

# keras_metadata.pb of a Keras model saved as a SavedModel (SavedMetadata: nodes with
# node_path = 3, identifier = 4, metadata = 5 as JSON); tf.keras rebuilds layers from it.
def keras_metadata(layers):
    root = {"name": "sequential", "class_name": "Sequential", "config": {"name": "sequential", "layers": layers}}
    nodes = [("root", "_tf_keras_sequential", root)]
    for i, layer in enumerate(layers):
        meta = {"name": layer["config"]["name"], "trainable": True, "expects_training_arg": False, "dtype": "float32"}
        meta.update(class_name=layer["class_name"], config=layer["config"])
        nodes.append((f"root.layer-{i}", "_tf_keras_layer", meta))
    out = b""
    for i, (path, ident, meta) in enumerate(nodes):
        node = pb_int(2, i) + pb_bytes(3, path) + pb_bytes(4, ident) + pb_bytes(5, json.dumps(meta))
        out += pb_bytes(1, node)
    return out


k2_dense = {"class_name": "Dense", "config": {"name": "dense", "units": 4}}
k2_lambda = {
    "class_name": "Lambda",
    "config": {"name": "lambda", "function": [base64.encodebytes(marshal.dumps((lambda x: x).__code__)).decode(), None, None], "function_type": "lambda"},
}
write("keras_metadata_ordinary.pb", keras_metadata([k2_dense]), {"worst": None, "rules": []})
write("keras_metadata_lambda.pb", keras_metadata([k2_dense, k2_lambda]), {"worst": "critical", "rules": ["dangerous-global"]})

with open(os.path.join(HERE, "expected.json"), "w") as f:
    json.dump(fixtures, f, indent=2, sort_keys=True)
    f.write("\n")
