"""Realistic benign files (pickle.dump / joblib.dump / np.savez of ordinary objects).
Writing only. Used to look for false alarms (high/critical on harmless content)."""
import collections, datetime, decimal, enum, fractions, functools, http, io, os, pathlib
import pickle, platform, re, types, urllib.parse, uuid
import joblib, numpy as np, pandas as pd
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from sklearn.linear_model import LogisticRegression
from sklearn.feature_extraction.text import TfidfVectorizer
O = os.path.dirname(os.path.abspath(__file__)) + "/"
def dump(name, obj, proto=pickle.DEFAULT_PROTOCOL):
    with open(O + name, "wb") as f: pickle.dump(obj, f, protocol=proto)
class Color(enum.Enum):
    RED = 1
X = np.random.rand(20, 3); y = (X[:, 0] > .5).astype(int)
dump("b01_simplenamespace_args.pkl", {"args": types.SimpleNamespace(lr=1e-3, epochs=10), "step": 100})
dump("b02_pathlib_path.pkl", {"data_dir": pathlib.Path("/data/train"), "epoch": 3})
dump("b03_functools_partial.pkl", {"act": functools.partial(max, 0)})
dump("b04_str_lower_method.pkl", {"norm": str.lower})
dump("b05_urlparse.pkl", {"src": urllib.parse.urlparse("https://example.com/a")})
dump("b06_platform_uname.pkl", {"env": platform.uname()})
dump("b07_os_stat_result.pkl", {"stat": os.stat("/tmp")})
dump("b08_httpstatus.pkl", {"status": http.HTTPStatus.OK})
dump("b09_stdlib_values.pkl", {"dt": datetime.datetime.now(datetime.timezone.utc), "d": decimal.Decimal("1.5"),
    "f": fractions.Fraction(1, 3), "u": uuid.uuid4(), "s": {1, 2}, "fs": frozenset([3]), "ba": bytearray(b"x"),
    "c": 1 + 2j, "od": collections.OrderedDict(a=1), "dq": collections.deque([1]), "cnt": collections.Counter("ab"),
    "dd": collections.defaultdict(list), "r": range(3), "sl": slice(1, 2), "b": b"x"})
dump("b10_re_enum.pkl", {"pat": re.compile(r"\d+"), "color": Color.RED})
joblib.dump(make_pipeline(FunctionTransformer(np.log1p), StandardScaler(), LogisticRegression()).fit(X, y), O + "b11_sklearn_pipeline.joblib")
joblib.dump(TfidfVectorizer(preprocessor=str.lower).fit(["hello world", "good day"]), O + "b12_tfidf_str_lower.joblib")
pd.DataFrame({"a": [1, 2], "t": pd.to_datetime(["2024-01-01", "2024-01-02"])}).to_pickle(O + "b13_pandas_df.pkl")
np.savez(O + "b14_npz.npz", a=np.arange(3), b=np.zeros((2, 2)))
joblib.dump({"a": np.arange(10.0), "names": np.array(["x", "y"], dtype=object)}, O + "b15_joblib_objarray.joblib", compress=3)
dump("b16_dict_fromkeys_classmethod.pkl", {"f": dict.fromkeys})
dump("b17_np_random_generator.pkl", {"rng": np.random.default_rng(0)})
dump("b18_tempfile_free_path_in_list.pkl", [pathlib.PurePosixPath("a/b")])
print("ok")
