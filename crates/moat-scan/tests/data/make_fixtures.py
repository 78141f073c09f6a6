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

with open(os.path.join(HERE, "expected.json"), "w") as f:
    json.dump(fixtures, f, indent=2, sort_keys=True)
    f.write("\n")
