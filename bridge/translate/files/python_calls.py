"""Which Python calls touch files, and how: tables read by the evaluator, no logic.

An `Arg` names one argument by position and keyword; a `FileOp` says which arguments a call
reads, writes or both (moved or renamed sources are read and then removed), what the path
names (a file, a folder, either) and what the call returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bridge.translate.files.folders import Target

Returns = Literal["none", "handle", "listing", "names", "walk", "unknown"]


@dataclass(frozen=True, slots=True)
class Arg:
    pos: int
    names: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FileOp:
    reads: tuple[Arg, ...] = ()
    writes: tuple[Arg, ...] = ()
    both: tuple[Arg, ...] = ()
    target: Target = "file"
    returns: Returns = "unknown"


def _read(*names: str, target: Target = "file", returns: Returns = "unknown") -> FileOp:
    return FileOp(reads=(Arg(0, names),), target=target, returns=returns)


def _write(*names: str, target: Target = "file", pos: int = 0) -> FileOp:
    return FileOp(writes=(Arg(pos, names),), target=target, returns="none")


_COPY = FileOp(reads=(Arg(0, ("src",)),), writes=(Arg(1, ("dst",)),), target="any")
_MOVE = FileOp(both=(Arg(0, ("src",)),), writes=(Arg(1, ("dst",)),), target="any")
_PROBE = _read("path", target="any")

# Module-level functions, by qualified name.
FUNCTIONS: dict[str, FileOp] = {
    "os.makedirs": _write("name", target="dir"),
    "os.mkdir": _write("path", target="dir"),
    "os.remove": _write("path"),
    "os.unlink": _write("path"),
    "os.rmdir": _write("path", target="dir"),
    "shutil.rmtree": _write("path", target="dir"),
    "os.rename": _MOVE,
    "os.replace": _MOVE,
    "os.renames": _MOVE,
    "shutil.move": _MOVE,
    "shutil.copy": _COPY,
    "shutil.copy2": _COPY,
    "shutil.copyfile": _COPY,
    "shutil.copytree": FileOp(reads=(Arg(0, ("src",)),), writes=(Arg(1, ("dst",)),), target="dir"),
    "os.listdir": _read("path", target="dir", returns="names"),
    "os.scandir": _read("path", target="dir", returns="names"),
    "os.walk": _read("top", target="dir", returns="walk"),
    "glob.glob": _read("pathname", target="any", returns="listing"),
    "glob.iglob": _read("pathname", target="any", returns="listing"),
    "os.path.exists": _PROBE,
    "os.path.lexists": _PROBE,
    "os.path.isfile": _read("path"),
    "os.path.isdir": _read("s", target="dir"),
    "os.path.getsize": _read("filename"),
    "os.path.getmtime": _read("filename"),
    "os.stat": _PROBE,
    "numpy.load": _read("file"),
    "numpy.loadtxt": _read("fname"),
    "numpy.genfromtxt": _read("fname"),
    "numpy.fromfile": _read("file"),
    "numpy.save": _write("file"),
    "numpy.savez": _write("file"),
    "numpy.savez_compressed": _write("file"),
    "numpy.savetxt": _write("fname"),
    "joblib.load": _read("filename"),
    "joblib.dump": _write("filename", pos=1),
    "matplotlib.pyplot.savefig": _write("fname"),
}

OPEN_FUNCTIONS = frozenset({"builtins.open", "io.open", "codecs.open", "gzip.open", "bz2.open"})

# pandas (and polars, dask ...) readers and writers, matched by name on any object.
_READ_FORMATS = (
    "csv table fwf json parquet excel feather pickle hdf orc stata xml sas spss html"
).split()
_WRITE_FORMATS = (
    "csv json parquet excel feather pickle hdf orc stata xml html latex markdown"
).split()
_PANDAS_PATH_KEYWORDS = ("filepath_or_buffer", "path_or_buf", "path", "io", "excel_writer", "buf")
READERS = frozenset(f"read_{f}" for f in _READ_FORMATS)
WRITERS = frozenset(f"to_{f}" for f in _WRITE_FORMATS) | {"savefig", "save"}
PANDAS_READ = FileOp(reads=(Arg(0, _PANDAS_PATH_KEYWORDS),))
PANDAS_WRITE = FileOp(writes=(Arg(0, _PANDAS_PATH_KEYWORDS + ("fname",)),), returns="none")

# pathlib.Path methods, on a path value.
PATH_METHODS: dict[str, FileOp] = {
    "read_text": FileOp(reads=(Arg(-1),)),
    "read_bytes": FileOp(reads=(Arg(-1),)),
    "exists": FileOp(reads=(Arg(-1),), target="any"),
    "is_file": FileOp(reads=(Arg(-1),)),
    "is_dir": FileOp(reads=(Arg(-1),), target="dir"),
    "stat": FileOp(reads=(Arg(-1),), target="any"),
    "iterdir": FileOp(reads=(Arg(-1),), target="dir", returns="listing"),
    "glob": FileOp(reads=(Arg(-1),), target="dir", returns="listing"),
    "rglob": FileOp(reads=(Arg(-1),), target="dir", returns="listing"),
    "write_text": FileOp(writes=(Arg(-1),), returns="none"),
    "write_bytes": FileOp(writes=(Arg(-1),), returns="none"),
    "touch": FileOp(writes=(Arg(-1),), returns="none"),
    "unlink": FileOp(writes=(Arg(-1),), returns="none"),
    "mkdir": FileOp(writes=(Arg(-1),), target="dir", returns="none"),
    "rmdir": FileOp(writes=(Arg(-1),), target="dir", returns="none"),
    "rename": FileOp(both=(Arg(-1),), writes=(Arg(0, ("target",)),), target="any"),
    "replace": FileOp(both=(Arg(-1),), writes=(Arg(0, ("target",)),), target="any"),
}

# Calls that never touch a file, whatever text they are given.
PURE_FUNCTIONS = frozenset(
    """print len str repr int float bool isinstance issubclass type sorted list tuple set
    frozenset dict enumerate zip range min max sum any all abs round format hash id getattr
    hasattr iter next map filter reversed ValueError RuntimeError KeyError TypeError Exception
    FileNotFoundError AirflowException""".split()
)
PURE_MODULES = (
    "json.",
    "csv.",
    "pickle.",
    "logging.",
    "math.",
    "re.",
    "hashlib.",
    "datetime.",
    "time.",
    "random.",
    "os.path.",
    "string.",
    "textwrap.",
    "statistics.",
    "collections.",
    "itertools.",
    "functools.",
    "typing.",
    "uuid.",
    "pendulum.",
    "base64.",
    "copy.",
    "decimal.",
)
PURE_METHODS = frozenset(
    """info debug warning warn error exception critical log append extend add update get pop
    setdefault keys values items join split rsplit format startswith endswith encode decode
    write writelines read readline readlines writerow writerows writeheader close flush seek
    xcom_push lower upper strip lstrip rstrip replace count index sort copy""".split()
)

# Airflow context values a callable may receive: known only at run time.
CONTEXT_NAMES = frozenset(
    """ds ds_nodash ts ts_nodash ts_nodash_with_tz logical_date execution_date data_interval_start
    data_interval_end run_id dag_run ti task_instance conf dag task macros prev_ds next_ds
    yesterday_ds tomorrow_ds var inlets outlets templates_dict test_mode
    prev_data_interval_start_success prev_data_interval_end_success prev_start_date_success
    triggering_asset_events triggering_dataset_events map_index_template""".split()
)
