//! Judges a global (`module`, `name`) that a pickle imports: safe constructor, known
//! dangerous callable, or unknown (a medium finding for review).
//!
//! The allow list is what ordinary checkpoints need (torch and numpy tensors and
//! storages, scikit-learn estimators, collections, argparse namespaces, `_codecs.encode`
//! for bytes); the deny list is every module or callable that runs code, touches files,
//! processes or the network, or reaches attributes dynamically. A name is judged by its
//! module and its first attribute segment, so `os.system` and `os.path.join` are both
//! `os`, and `builtins.getattr` is judged as `getattr` whatever follows it.
//!
//! Known false positives: user classes from `__main__` and third-party packages outside
//! the lists come out unknown (medium); review and allow them in policy.

use crate::finding::Severity;

/// The verdict on one global.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Judgement {
    Safe,
    /// On the deny list, with why.
    Dangerous(Severity, &'static str),
    /// A deserialiser: bytes passed to it are a nested pickle and are scanned too.
    Deserializer(Severity, &'static str),
    Unknown,
}

/// Modules whose every member is dangerous, with the severity and the reason.
const DANGEROUS_MODULES: &[(&str, Severity, &str)] = &[
    (
        "os",
        Severity::Critical,
        "runs commands and touches the file system",
    ),
    ("posix", Severity::Critical, "runs commands (os on Unix)"),
    ("nt", Severity::Critical, "runs commands (os on Windows)"),
    ("subprocess", Severity::Critical, "starts processes"),
    ("commands", Severity::Critical, "runs shell commands"),
    ("popen2", Severity::Critical, "starts processes"),
    ("pty", Severity::Critical, "spawns a shell"),
    ("runpy", Severity::Critical, "runs Python modules and files"),
    ("importlib", Severity::Critical, "imports arbitrary code"),
    ("imp", Severity::Critical, "imports arbitrary code"),
    ("pip", Severity::Critical, "installs and runs packages"),
    ("code", Severity::Critical, "runs Python source"),
    ("codeop", Severity::Critical, "compiles Python source"),
    ("ctypes", Severity::Critical, "calls native code"),
    ("_ctypes", Severity::Critical, "calls native code"),
    ("marshal", Severity::Critical, "loads compiled Python code"),
    (
        "types",
        Severity::Critical,
        "builds functions and code objects",
    ),
    (
        "sys",
        Severity::Critical,
        "reaches the interpreter's modules and hooks",
    ),
    ("timeit", Severity::Critical, "runs Python source strings"),
    ("pdb", Severity::Critical, "runs Python source strings"),
    ("bdb", Severity::Critical, "runs Python source strings"),
    ("trace", Severity::Critical, "runs Python source strings"),
    ("profile", Severity::Critical, "runs Python source strings"),
    ("cProfile", Severity::Critical, "runs Python source strings"),
    ("pydoc", Severity::Critical, "runs a pager command"),
    ("multiprocessing", Severity::Critical, "starts processes"),
    (
        "asyncio",
        Severity::Critical,
        "starts processes (create_subprocess_*)",
    ),
    ("platform", Severity::Critical, "runs commands (popen)"),
    (
        "_osx_support",
        Severity::Critical,
        "runs shell commands (_read_output)",
    ),
    (
        "logging.config",
        Severity::Critical,
        "builds handlers from configuration that imports and calls any callable",
    ),
    (
        "pkgutil",
        Severity::Critical,
        "imports any module and returns any attribute (resolve_name)",
    ),
    (
        "webbrowser",
        Severity::Critical,
        "opens URLs with external programs",
    ),
    (
        "venv",
        Severity::Critical,
        "creates environments and runs installers",
    ),
    (
        "ensurepip",
        Severity::Critical,
        "installs and runs packages",
    ),
    ("distutils", Severity::Critical, "builds and runs code"),
    ("setuptools", Severity::Critical, "builds and runs code"),
    ("torch.hub", Severity::Critical, "downloads and runs code"),
    ("socket", Severity::High, "opens network connections"),
    ("ssl", Severity::High, "opens network connections"),
    ("urllib", Severity::High, "fetches URLs"),
    ("urllib2", Severity::High, "fetches URLs"),
    ("urllib3", Severity::High, "fetches URLs"),
    ("requests", Severity::High, "fetches URLs"),
    ("httplib", Severity::High, "opens HTTP connections"),
    ("http", Severity::High, "opens HTTP connections"),
    ("ftplib", Severity::High, "opens FTP connections"),
    ("telnetlib", Severity::High, "opens network connections"),
    ("smtplib", Severity::High, "sends mail"),
    ("shutil", Severity::High, "copies, moves and deletes files"),
    ("tempfile", Severity::High, "creates files"),
    ("pathlib", Severity::High, "reads and writes files"),
    ("glob", Severity::Medium, "lists files"),
    ("signal", Severity::High, "installs signal handlers"),
    ("threading", Severity::High, "runs callables on threads"),
    ("_thread", Severity::High, "runs callables on threads"),
    ("shelve", Severity::High, "opens pickle databases"),
    (
        "zipimport",
        Severity::Critical,
        "imports code from archives",
    ),
];

/// Single callables on the deny list: `(module, name, severity, reason)`.
const DANGEROUS_NAMES: &[(&str, &str, Severity, &str)] = &[
    (
        "copyreg",
        "add_extension",
        Severity::High,
        "registers extension codes that make later opcodes import any global",
    ),
    (
        "builtins",
        "eval",
        Severity::Critical,
        "evaluates Python source",
    ),
    ("builtins", "exec", Severity::Critical, "runs Python source"),
    (
        "builtins",
        "execfile",
        Severity::Critical,
        "runs a Python file",
    ),
    (
        "builtins",
        "compile",
        Severity::Critical,
        "compiles Python source",
    ),
    (
        "builtins",
        "__import__",
        Severity::Critical,
        "imports arbitrary modules",
    ),
    (
        "builtins",
        "apply",
        Severity::Critical,
        "calls any callable",
    ),
    (
        "builtins",
        "input",
        Severity::High,
        "evaluates input (Python 2)",
    ),
    (
        "builtins",
        "getattr",
        Severity::High,
        "reaches any attribute, such as os.system",
    ),
    (
        "builtins",
        "setattr",
        Severity::High,
        "changes any attribute",
    ),
    (
        "builtins",
        "delattr",
        Severity::High,
        "deletes any attribute",
    ),
    (
        "builtins",
        "globals",
        Severity::High,
        "reaches the interpreter's globals",
    ),
    (
        "builtins",
        "locals",
        Severity::High,
        "reaches the interpreter's locals",
    ),
    (
        "builtins",
        "vars",
        Severity::High,
        "reaches any object's attributes",
    ),
    ("builtins", "open", Severity::High, "opens files"),
    ("builtins", "file", Severity::High, "opens files (Python 2)"),
    (
        "builtins",
        "breakpoint",
        Severity::High,
        "starts a debugger",
    ),
    ("builtins", "reload", Severity::High, "reloads modules"),
    (
        "builtins",
        "memoryview",
        Severity::Medium,
        "exposes raw memory",
    ),
    (
        "builtins",
        "type",
        Severity::Medium,
        "creates classes at load time",
    ),
    (
        "builtins",
        "super",
        Severity::Medium,
        "reaches parent methods",
    ),
    ("io", "open", Severity::High, "opens files"),
    ("io", "FileIO", Severity::High, "opens files"),
    ("_io", "open", Severity::High, "opens files"),
    ("_io", "FileIO", Severity::High, "opens files"),
    ("codecs", "open", Severity::High, "opens files"),
    (
        "operator",
        "attrgetter",
        Severity::High,
        "reaches any attribute, such as os.system",
    ),
    (
        "operator",
        "methodcaller",
        Severity::High,
        "calls any method",
    ),
    ("operator", "getitem", Severity::Medium, "reaches any item"),
    (
        "functools",
        "partial",
        Severity::High,
        "builds calls of any callable",
    ),
    ("functools", "reduce", Severity::High, "calls any callable"),
    (
        "functools",
        "partialmethod",
        Severity::High,
        "builds calls of any callable",
    ),
    (
        "collections",
        "namedtuple",
        Severity::Medium,
        "creates classes at load time",
    ),
    ("numpy", "fromfile", Severity::High, "reads files"),
    ("numpy", "memmap", Severity::High, "maps files"),
    ("numpy", "save", Severity::High, "writes files"),
    ("numpy", "savetxt", Severity::High, "writes files"),
    ("numpy", "loadtxt", Severity::High, "reads files"),
    (
        "numpy.testing._private.utils",
        "runstring",
        Severity::Critical,
        "runs Python source",
    ),
    ("torch", "save", Severity::High, "writes files"),
    (
        "torch.jit",
        "load",
        Severity::High,
        "loads TorchScript code",
    ),
    (
        "torch.serialization",
        "save",
        Severity::High,
        "writes files",
    ),
];

/// Deserialisers: a call to one with bytes is a nested pickle.
const DESERIALIZERS: &[(&str, &str, Severity)] = &[
    ("pickle", "_Unpickler", Severity::High),
    ("pickle", "Unpickler", Severity::High),
    ("_pickle", "Unpickler", Severity::High),
    ("numpy.lib._npyio_impl", "load", Severity::High),
    ("numpy.lib.npyio", "load", Severity::High),
    ("numpy.lib._format_impl", "read_array", Severity::High),
    ("numpy.lib.format", "read_array", Severity::High),
    ("pickle", "loads", Severity::Critical),
    ("pickle", "load", Severity::Critical),
    ("pickle", "Unpickler", Severity::Critical),
    ("pickle", "_loads", Severity::Critical),
    ("pickle", "_load", Severity::Critical),
    ("_pickle", "loads", Severity::Critical),
    ("_pickle", "load", Severity::Critical),
    ("_pickle", "Unpickler", Severity::Critical),
    ("cPickle", "loads", Severity::Critical),
    ("cPickle", "load", Severity::Critical),
    ("dill", "loads", Severity::Critical),
    ("dill", "load", Severity::Critical),
    ("cloudpickle", "loads", Severity::Critical),
    ("cloudpickle", "load", Severity::Critical),
    ("joblib", "load", Severity::High),
    ("numpy", "load", Severity::High),
    ("numpy.lib.npyio", "load", Severity::High),
    ("pandas", "read_pickle", Severity::High),
    ("torch", "load", Severity::High),
    ("torch.serialization", "load", Severity::High),
    ("torch.storage", "_load_from_bytes", Severity::High),
];

/// Safe constructors, exact `(module, name)`.
const SAFE: &[(&str, &str)] = &[
    ("collections", "OrderedDict"),
    ("collections", "defaultdict"),
    ("collections", "deque"),
    ("collections", "Counter"),
    ("builtins", "set"),
    ("builtins", "frozenset"),
    ("builtins", "dict"),
    ("builtins", "list"),
    ("builtins", "tuple"),
    ("builtins", "bytearray"),
    ("builtins", "bytes"),
    ("builtins", "complex"),
    ("builtins", "slice"),
    ("builtins", "range"),
    ("builtins", "int"),
    ("builtins", "float"),
    ("builtins", "str"),
    ("builtins", "bool"),
    ("builtins", "object"),
    ("copyreg", "_reconstructor"),
    ("copyreg", "__newobj__"),
    ("copyreg", "__newobj_ex__"),
    ("_codecs", "encode"),
    ("argparse", "Namespace"),
    ("datetime", "datetime"),
    ("datetime", "date"),
    ("datetime", "time"),
    ("datetime", "timedelta"),
    ("datetime", "timezone"),
    ("decimal", "Decimal"),
    ("fractions", "Fraction"),
    ("uuid", "UUID"),
    ("torch._utils", "_rebuild_tensor"),
    ("torch._utils", "_rebuild_tensor_v2"),
    ("torch._utils", "_rebuild_tensor_v3"),
    ("torch._utils", "_rebuild_parameter"),
    ("torch._utils", "_rebuild_parameter_with_state"),
    ("torch._utils", "_rebuild_device_tensor_from_numpy"),
    ("torch._utils", "_rebuild_device_tensor_from_cpu_tensor"),
    ("torch._utils", "_rebuild_qtensor"),
    ("torch._utils", "_rebuild_sparse_tensor"),
    ("torch._utils", "_rebuild_nested_tensor"),
    ("torch._utils", "_rebuild_meta_tensor_no_storage"),
    ("torch._utils", "_rebuild_wrapper_subclass"),
    ("torch._tensor", "_rebuild_from_type"),
    ("torch._tensor", "_rebuild_from_type_v2"),
    ("torch.nn.parameter", "Parameter"),
    ("torch.serialization", "_get_layout"),
    ("torch.storage", "UntypedStorage"),
    ("torch.storage", "TypedStorage"),
    ("torch", "Size"),
    ("torch", "device"),
    ("torch", "Tensor"),
    ("torch", "strided"),
    ("torch", "sparse_coo"),
    ("torch", "sparse_csr"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
    ("numpy.random._pickle", "__randomstate_ctor"),
    ("numpy.random._pickle", "__bit_generator_ctor"),
    ("numpy.random._pickle", "__generator_ctor"),
    ("joblib.numpy_pickle", "NumpyArrayWrapper"),
    ("joblib.numpy_pickle", "ArrayWrapper"),
];

/// Module prefixes whose classes are safe to construct (estimators, sparse matrices,
/// numpy dtype classes).
const SAFE_PREFIXES: &[&str] = &["sklearn.", "scipy.sparse.", "numpy.dtypes"];

const TORCH_DTYPES: &[&str] = &[
    "float32",
    "float",
    "float64",
    "double",
    "float16",
    "half",
    "bfloat16",
    "complex32",
    "complex64",
    "cfloat",
    "complex128",
    "cdouble",
    "uint8",
    "int8",
    "int16",
    "short",
    "int32",
    "int",
    "int64",
    "long",
    "bool",
    "qint8",
    "quint8",
    "qint32",
    "quint4x2",
    "float8_e4m3fn",
    "float8_e5m2",
];

/// Python 2 names and aliases, as the unpickler maps them (`_compat_pickle`).
pub(crate) fn canonical_module(module: &str) -> &str {
    match module {
        "__builtin__" | "exceptions" => "builtins",
        "copy_reg" => "copyreg",
        "_operator" => "operator",
        "_functools" => "functools",
        "_codecs" => "_codecs",
        "cPickle" => "pickle",
        m => m,
    }
}

/// Constructors of harmless values that live in otherwise dangerous modules: result
/// structs, enums and path or URL objects (building one touches nothing).
const SAFE_EXCEPTIONS: &[(&str, &str)] = &[
    ("types", "SimpleNamespace"),
    ("os", "stat_result"),
    ("posix", "stat_result"),
    ("nt", "stat_result"),
    ("os", "terminal_size"),
    ("posix", "terminal_size"),
    ("os", "times_result"),
    ("posix", "times_result"),
    ("os", "uname_result"),
    ("posix", "uname_result"),
    ("platform", "uname_result"),
    ("pathlib", "Path"),
    ("pathlib", "PosixPath"),
    ("pathlib", "WindowsPath"),
    ("pathlib", "PurePath"),
    ("pathlib", "PurePosixPath"),
    ("pathlib", "PureWindowsPath"),
    ("pathlib._local", "Path"),
    ("pathlib._local", "PosixPath"),
    ("pathlib._local", "PurePosixPath"),
    ("http", "HTTPStatus"),
    ("urllib.parse", "ParseResult"),
    ("urllib.parse", "SplitResult"),
    ("urllib.parse", "DefragResult"),
    ("urllib.parse", "ParseResultBytes"),
    ("urllib.parse", "SplitResultBytes"),
];

/// Names that the safe prefixes (`sklearn.…`) re-export from elsewhere: judged for what
/// they really are, not as estimators.
const REEXPORTS: &[(&str, Severity, &str)] = &[
    (
        "GzipFile",
        Severity::High,
        "opens, creates or truncates any file (gzip.GzipFile)",
    ),
    (
        "Client",
        Severity::High,
        "connects to any address (multiprocessing.connection)",
    ),
    (
        "Listener",
        Severity::High,
        "listens on any address (multiprocessing.connection)",
    ),
    (
        "Connection",
        Severity::High,
        "receives pickles over a connection (multiprocessing.connection)",
    ),
    (
        "NamedTemporaryFile",
        Severity::High,
        "creates files (tempfile)",
    ),
    (
        "TemporaryDirectory",
        Severity::High,
        "creates and deletes folders (tempfile)",
    ),
    (
        "Thread",
        Severity::High,
        "starts a thread running any callable (threading)",
    ),
    (
        "Memory",
        Severity::High,
        "writes cache files (joblib.Memory)",
    ),
    (
        "Request",
        Severity::Medium,
        "describes a network request (urllib)",
    ),
    (
        "ThreadpoolController",
        Severity::Medium,
        "changes native thread pools",
    ),
    (
        "Queue",
        Severity::Medium,
        "is a queue shared with threads or processes",
    ),
];

/// Dunder attributes that reach interpreter internals (`__globals__`, `__dict__`, …).
fn reaches_internals(segment: &str) -> bool {
    segment.len() > 4 && segment.starts_with("__") && segment.ends_with("__")
}

/// Judges `module.name` (the name may be a dotted attribute path). A dotted name is
/// resolved by attribute access at load time (`logging.os.system` is `os.system`), so
/// every split of the path is judged and the worst verdict wins.
pub fn judge(module: &str, name: &str) -> Judgement {
    let module = canonical_module(module.trim());
    let name = name.trim();
    let direct = judge_one(module, name);
    if !name.contains('.') {
        return direct;
    }
    let segments: Vec<&str> = name.split('.').collect();
    if segments.iter().any(|s| reaches_internals(s)) {
        return Judgement::Dangerous(
            Severity::Critical,
            "walks `__…__` attributes to reach interpreter internals",
        );
    }
    let mut worst = direct;
    for i in 1..segments.len() {
        let (head, tail) = segments.split_at(i);
        let candidates = [
            (head.join("."), tail.join(".")),
            (format!("{module}.{}", head.join(".")), tail.join(".")),
        ];
        for (m, n) in candidates {
            let j = judge_one(&m, &n);
            if rank(&j) > rank(&worst) {
                worst = j;
            }
        }
    }
    worst
}

fn rank(j: &Judgement) -> u8 {
    match j {
        Judgement::Safe => 0,
        Judgement::Unknown => 1,
        Judgement::Dangerous(s, _) | Judgement::Deserializer(s, _) => 2 + *s as u8,
    }
}

fn judge_one(module: &str, name: &str) -> Judgement {
    let module = canonical_module(module);
    if SAFE_EXCEPTIONS
        .iter()
        .any(|(m, n)| *m == module && *n == name)
    {
        return Judgement::Safe;
    }
    let module = canonical_module(module.trim());
    let first = name.split('.').next().unwrap_or(name);
    let top = module.split('.').next().unwrap_or(module);
    for (m, n, sev) in DESERIALIZERS {
        if *m == module && *n == first {
            return Judgement::Deserializer(
                *sev,
                "deserialises more pickled data, which can run code",
            );
        }
    }
    for (m, n, sev, why) in DANGEROUS_NAMES {
        if *m == module && *n == first {
            return Judgement::Dangerous(*sev, why);
        }
    }
    let qualified = format!("{module}.{first}");
    for (m, sev, why) in DANGEROUS_MODULES {
        if *m == top || *m == module || *m == qualified || module.starts_with(&format!("{m}.")) {
            return Judgement::Dangerous(*sev, why);
        }
    }
    // A safe class reached through an attribute path (`dict.fromkeys`, `object.__reduce__`)
    // is not the constructor: only exact names are safe.
    if !name.contains('.') {
        if SAFE.iter().any(|(m, n)| *m == module && *n == name) {
            return Judgement::Safe;
        }
        if module == "torch" && (name.ends_with("Storage") || TORCH_DTYPES.contains(&name)) {
            return Judgement::Safe;
        }
        if SAFE_PREFIXES.iter().any(|p| module.starts_with(p))
            && name.chars().next().is_some_and(char::is_uppercase)
        {
            if let Some((_, sev, why)) = REEXPORTS.iter().find(|(n, _, _)| *n == name) {
                return Judgement::Dangerous(*sev, why);
            }
            return Judgement::Safe;
        }
    }
    Judgement::Unknown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn judgements() {
        assert!(matches!(
            judge("os", "system"),
            Judgement::Dangerous(Severity::Critical, _)
        ));
        assert!(matches!(
            judge("posix", "system"),
            Judgement::Dangerous(Severity::Critical, _)
        ));
        assert!(matches!(judge("os.path", "join"), Judgement::Dangerous(..)));
        assert!(matches!(
            judge("__builtin__", "eval"),
            Judgement::Dangerous(Severity::Critical, _)
        ));
        assert!(matches!(
            judge("builtins", "getattr"),
            Judgement::Dangerous(Severity::High, _)
        ));
        assert!(matches!(
            judge("builtins", "dict.fromkeys"),
            Judgement::Unknown
        ));
        assert!(matches!(
            judge("subprocess", "Popen.__init__"),
            Judgement::Dangerous(..)
        ));
        assert!(matches!(
            judge("pickle", "loads"),
            Judgement::Deserializer(Severity::Critical, _)
        ));
        assert!(matches!(
            judge("torch.storage", "_load_from_bytes"),
            Judgement::Deserializer(..)
        ));
        assert_eq!(judge("torch._utils", "_rebuild_tensor_v2"), Judgement::Safe);
        assert_eq!(judge("torch", "FloatStorage"), Judgement::Safe);
        assert_eq!(judge("torch", "bfloat16"), Judgement::Safe);
        assert_eq!(judge("collections", "OrderedDict"), Judgement::Safe);
        assert_eq!(
            judge("numpy.core.multiarray", "_reconstruct"),
            Judgement::Safe
        );
        assert_eq!(
            judge("sklearn.linear_model._logistic", "LogisticRegression"),
            Judgement::Safe
        );
        assert_eq!(judge("sklearn.utils", "some_function"), Judgement::Unknown);
        assert_eq!(judge("copy_reg", "_reconstructor"), Judgement::Safe);
        assert_eq!(judge("__main__", "MyModel"), Judgement::Unknown);
        assert!(matches!(
            judge("torch.hub", "load"),
            Judgement::Dangerous(Severity::Critical, _)
        ));
        assert!(matches!(
            judge("operator", "attrgetter"),
            Judgement::Dangerous(..)
        ));
        assert!(matches!(
            judge("functools", "partial"),
            Judgement::Dangerous(..)
        ));
    }
}
