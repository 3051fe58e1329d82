"""Static file analysis: which worker folders a Python callable or a bash command reads and writes.

Besides the forms the analysis knows, the "real-world shapes" below paraphrase file hand-offs
seen in public DAG repositories (named in each test), so the analysis is checked on code we did
not write for it.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge.parse.dag_file import parse_file
from bridge.translate.files.bash_paths import bash_files
from bridge.translate.files.model import Folder, TaskFiles
from bridge.translate.files.python_paths import python_files

SAMPLES = Path(__file__).resolve().parents[1] / "sample_dags"
WORK = Folder(kind="path", key="/tmp/bridge_file_handoff")


def path(key: str) -> Folder:
    return Folder(kind="path", key=key)


def py(source: str, function: str = "task", **literal_args) -> TaskFiles:
    source = textwrap.dedent(source)
    line = next(i for i, t in enumerate(source.splitlines(), 1) if f"def {function}(" in t)
    return python_files(source, function, line, literal_args=literal_args or None)


def modes(files: TaskFiles) -> dict[str, set[Folder]]:
    return {m: set(files.folders(m)) for m in ("read", "write")}


def whys(files: TaskFiles) -> list[str]:
    return [u.why for u in files.unresolved]


# --- the sample the issue is about ----------------------------------------------------------


def _sample_tasks(name: str) -> dict[str, TaskFiles]:
    source = (SAMPLES / name).read_text()
    found = {}
    for dag in parse_file(SAMPLES / name).dags:
        for task in dag.tasks.values():
            if task.callable is not None:
                found[task.task_id] = python_files(source, task.callable.name, task.callable.line)
            elif "bash_command" in task.kwargs:
                env = task.kwargs.get("env")
                found[task.task_id] = bash_files(
                    task.kwargs["bash_command"].value,
                    task.line,
                    env=env.value if env is not None else None,
                )
    return found


def test_file_handoff_sample():
    tasks = _sample_tasks("file_handoff.py")
    assert modes(tasks["extract"]) == {"read": {Folder(kind="dag", key="data")}, "write": {WORK}}
    assert modes(tasks["stage"]) == {"read": {WORK}, "write": {WORK}}
    assert modes(tasks["summarize"]) == {"read": {WORK}, "write": {WORK}}
    assert modes(tasks["publish"]) == {"read": {WORK}, "write": set()}
    assert all(not t.unresolved for t in tasks.values())
    raw = [a for a in tasks["extract"].accesses if a.mode == "write" and "raw_" in a.path]
    assert [(a.path, a.line) for a in raw] == [("/tmp/bridge_file_handoff/raw_{ds}.csv", 39)]


def test_ml_classic_sample_shares_one_env_folder():
    tasks = _sample_tasks("ml_classic_operators.py")
    shared = Folder(kind="env", key="BRIDGE_DATA_DIR", default="/tmp/bridge-sample-output")
    assert shared in tasks["preprocess.scale_features"].folders("write")
    assert shared in tasks["train_model"].folders("read")
    assert shared in tasks["preprocess.snapshot_features"].folders("read")
    assert tasks["choose_deployment"] == TaskFiles()


# --- Python forms -----------------------------------------------------------------------------


def test_chained_constants_fstring_and_format():
    files = py(
        """
        import os
        BASE = "/data/base"
        RAW = f"{BASE}/raw"
        def task(ds=None):
            open(f"{RAW}/x_{ds}.csv", "w").write("x")
            open("{}/y.csv".format(RAW)).read()
            open(RAW + "/z.csv", "a")
            open("%s/q.csv" % BASE)
        """
    )
    assert modes(files) == {
        "read": {path("/data/base/raw"), path("/data/base")},
        "write": {path("/data/base/raw")},
    }


def test_pathlib_and_os_path_join_over_constants():
    files = py(
        """
        import os
        from pathlib import Path
        ROOT = Path("/srv/work")
        def task():
            (ROOT / "a" / "b.txt").write_text("x")
            p = os.path.join("/srv/other", "sub", "c.json")
            with open(p) as f:
                f.read()
        """
    )
    assert modes(files) == {"read": {path("/srv/other/sub")}, "write": {path("/srv/work")}}


def test_dag_folder_forms():
    files = py(
        """
        import os
        from pathlib import Path
        HERE = Path(__file__).resolve().parent
        def task():
            open(os.path.join(os.path.dirname(__file__), "data", "a.csv"))
            (HERE / "models" / "m.pkl").read_bytes()
            (Path(__file__).parent / "sql" / "q.sql").read_text()
        """
    )
    assert modes(files)["read"] == {
        Folder(kind="dag", key="data"),
        Folder(kind="dag", key=""),
        Folder(kind="dag", key="sql"),
    }


def test_environment_variables():
    files = py(
        """
        import os
        OUT = os.environ.get("OUT_DIR", "/tmp/out")
        def task():
            open(os.path.join(OUT, "a.txt"), "w")
            open(os.environ["IN_FILE"])
            os.makedirs(os.getenv("SCRATCH") or "/tmp/scratch")
        """
    )
    assert modes(files) == {
        "read": {Folder(kind="env", key="IN_FILE")},
        "write": {
            Folder(kind="env", key="OUT_DIR", default="/tmp/out"),
            Folder(kind="env", key="SCRATCH", default="/tmp/scratch"),
        },
    }


def test_tempdir_and_private_temp_folders():
    files = py(
        """
        import tempfile, os
        def task():
            open(os.path.join(tempfile.gettempdir(), "shared.txt"), "w")
            with tempfile.TemporaryDirectory() as tmp:
                open(os.path.join(tmp, "private.txt"), "w")
        """
    )
    assert modes(files) == {"read": set(), "write": {path("/tmp")}}
    assert not files.unresolved


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        ('open(P, "rb")', {"read"}),
        ('open(P, "w")', {"write"}),
        ('open(P, "x")', {"write"}),
        ('open(P, "r+")', {"read", "write"}),
        ("open(P, mode)", {"read", "write"}),
        ("Path(P).read_text()", {"read"}),
        ("Path(P).exists()", {"read"}),
        ("Path(P).write_bytes(b'')", {"write"}),
        ("Path(P).unlink()", {"write"}),
        ("Path(P).touch()", {"write"}),
        ("os.remove(P)", {"write"}),
        ("pd.read_csv(P)", {"read"}),
        ("pd.read_parquet(path=P)", {"read"}),
        ("df.to_csv(P, index=False)", {"write"}),
        ("np.load(P)", {"read"}),
        ("np.save(P, arr)", {"write"}),
        ("joblib.load(P)", {"read"}),
        ("joblib.dump(model, P)", {"write"}),
        ("os.listdir(P)", {"read"}),
        ("glob.glob(os.path.join(os.path.dirname(P), '*.csv'))", {"read"}),
        ("some_library.process(P)", {"read", "write"}),
    ],
)
def test_modes_of_file_operations(call, expected):
    files = py(
        f"""
        import os, glob, joblib
        import numpy as np
        import pandas as pd
        from pathlib import Path
        P = "/data/in/file.bin"
        def task(mode, df, arr, model):
            {call}
        """
    )
    assert {a.mode for a in files.accesses} == expected
    assert {a.folder for a in files.accesses} == {path("/data/in")}


def test_copy_and_move_read_sources_and_write_destinations():
    files = py(
        """
        import os, shutil
        def task():
            shutil.copy("/a/src/x.csv", "/a/dst/x.csv")
            shutil.move("/b/src/y.csv", "/b/dst/")
            os.rename("/c/old.txt", "/c2/new.txt")
            os.makedirs("/d/made", exist_ok=True)
            shutil.rmtree("/e/gone")
        """
    )
    assert modes(files) == {
        "read": {path("/a/src"), path("/b/src"), path("/c")},
        "write": {
            path("/a/dst"),
            path("/b/src"),
            path("/b/dst"),
            path("/c"),
            path("/c2"),
            path("/d/made"),
            path("/e/gone"),
        },
    }


def test_csv_json_pickle_over_an_open_file_follow_the_open():
    files = py(
        """
        import csv, json, pickle
        def task():
            with open("/w/in.json") as f:
                data = json.load(f)
            with open("/w/out.pkl", "wb") as f:
                pickle.dump(data, f)
            with open("/w/out.csv", "w", newline="") as f:
                csv.writer(f).writerow(["/not/a/file"])
        """
    )
    assert [(a.mode, a.path) for a in files.accesses] == [
        ("read", "/w/in.json"),
        ("write", "/w/out.pkl"),
        ("write", "/w/out.csv"),
    ]


def test_helpers_are_followed_with_their_arguments():
    files = py(
        """
        import os
        WORK = "/srv/pipeline"
        def out_file(name, ds):
            return os.path.join(WORK, f"{name}_{ds}.parquet")
        def save(df, target):
            df.to_parquet(target)
        def task(df, ds=None):
            save(df, out_file("clean", ds))
        """
    )
    assert modes(files) == {"read": set(), "write": {path("/srv/pipeline")}}
    assert files.accesses[0].path == "/srv/pipeline/clean_{ds}.parquet"
    assert files.accesses[0].line == 7  # the line in the helper, in the DAG file


def test_literal_arguments_count():
    source = """
        import pandas as pd
        def task(src, dst):
            pd.read_csv(src).to_csv(dst)
        """
    known = py(source, src="/data/in.csv", dst="/data/out/o.csv")
    assert modes(known) == {"read": {path("/data")}, "write": {path("/data/out")}}
    unknown = py(source)
    assert whys(unknown) == [
        "`src` is an argument of `task` that is not a literal",
        "`dst` is an argument of `task` that is not a literal",
    ]


def test_unresolved_forms():
    files = py(
        """
        import os
        from airflow.models import Variable
        def task(ti=None):
            open(ti.xcom_pull(task_ids="a"))
            open(Variable.get("data_dir") + "/x.csv")
            open("relative.csv")
            for name in os.listdir("/in"):
                open(name)
        """
    )
    reasons = whys(files)
    assert reasons[0].startswith("the path comes from XCom")
    assert reasons[1] == "an Airflow Variable, read at run time"
    assert reasons[2].startswith("a relative path")
    assert reasons[3] == "a name listed at run time"
    assert [u.expression for u in files.unresolved][:3] == [
        'ti.xcom_pull(task_ids="a")',
        'Variable.get("data_dir") + "/x.csv"',
        '"relative.csv"',
    ]
    assert [u.line for u in files.unresolved] == [5, 6, 7, 9]
    assert modes(files)["read"] == {path("/in")}


def test_listing_a_known_folder_keeps_the_folder():
    files = py(
        """
        import glob, os
        def task():
            for p in glob.glob("/data/in/*.csv"):
                open(p)
            for n in os.listdir("/data/more"):
                open(os.path.join("/data/more", n))
        """
    )
    assert modes(files)["read"] == {path("/data/in"), path("/data/more")}
    assert not files.unresolved


def test_system_folders_and_unused_paths_are_not_reported():
    files = py(
        """
        LOG = "/tmp/never/opened.txt"
        def task():
            open("/etc/hosts").read()
            open("/opt/ml/processing/input/x.csv")
            print(LOG)
            message = f"wrote {LOG}"
            return {"file": LOG}
        """
    )
    assert files == TaskFiles()


def test_the_right_def_is_picked_when_names_repeat():
    source = textwrap.dedent(
        """
        def task():
            open("/first/a.txt")
        def task():
            open("/second/a.txt", "w")
        """
    )
    assert python_files(source, "task", 2).folders("read") == (path("/first"),)
    assert python_files(source, "task", 4).folders("write") == (path("/second"),)


def test_a_callable_that_is_not_in_the_file_is_unresolved():
    files = python_files("x = 1\n", "elsewhere", 1)
    assert files.accesses == () and "not defined in the DAG file" in files.unresolved[0].why
    broken = python_files("def f(:\n", "f", 1)
    assert "does not parse" in broken.unresolved[0].why


def test_old_param_env_tempdir_helper_is_partly_unresolved():
    # The samples' former resolve_output_dir(params): param, else $BRIDGE_DATA_DIR, else tempdir.
    files = py(
        """
        import os, tempfile
        from pathlib import Path
        def resolve_output_dir(params):
            configured = (params or {}).get("output_dir") or os.environ.get("BRIDGE_DATA_DIR")
            base = Path(configured) if configured else Path(tempfile.gettempdir()) / "out"
            return base / "dag"
        def task(params=None):
            (resolve_output_dir(params) / "model.json").write_text("{}")
        """
    )
    assert set(files.folders("write")) == {
        Folder(kind="env", key="BRIDGE_DATA_DIR"),
        path("/tmp/out/dag"),
    }
    assert whys(files) == ["DAG params, known only at run time"]


def test_module_is_parsed_once_per_source():
    from bridge.translate.files.python_paths import _module

    source = "import os\nW='/w'\n" + "".join(
        f"def t{i}():\n    open(W + '/f{i}')\n" for i in range(300)
    )
    _module.cache_clear()
    for i in range(300):
        assert python_files(source, f"t{i}", 3 + 2 * i).folders("read") == (path("/w"),)
    assert _module.cache_info().misses == 1


# --- bash forms -------------------------------------------------------------------------------


def test_bash_variables_and_redirections():
    files = bash_files(
        'OUT=/tmp/x/$DAY; mkdir -p "$OUT" && echo hi > "$OUT/a.txt" && wc -l < /in/b.txt', 3
    )
    assert modes(files) == {"read": {path("/in")}, "write": {path("/tmp/x")}}
    assert {a.line for a in files.accesses} == {3}


def test_bash_env_and_defaults():
    files = bash_files(
        "cp $SRC/a.csv ${DEST:-/tmp/dest}/ && cat ${GIVEN}/f.txt", 1, env={"GIVEN": "/given"}
    )
    assert modes(files) == {
        "read": {Folder(kind="env", key="SRC"), path("/given")},
        "write": {Folder(kind="env", key="DEST", default="/tmp/dest")},
    }


@pytest.mark.parametrize(
    ("command", "read", "write"),
    [
        ("cp -r /a/x /a/y.txt /b/", {"/a/x", "/a"}, {"/b"}),
        ("cp -t /dst /src/one.txt", {"/src"}, {"/dst"}),
        ("rsync -av /r/src/ /r/dst/", {"/r/src"}, {"/r/dst"}),
        ("mv /m/a.txt /n/b.txt", {"/m"}, {"/m", "/n"}),
        ("touch /t/flag.ok && rm -f /t/old.txt", set(), {"/t"}),
        ("tar -czf /arch/out.tgz -C /data/in .", {"/data/in"}, {"/arch"}),
        ("tar xzf /arch/in.tgz -C /data/out", {"/arch"}, {"/data/out"}),
        ("head -n 5 /h/a.csv | grep foo /g/b.log > /o/c.txt", {"/h", "/g"}, {"/o"}),
        ("python /code/run.py --in /in/data.csv", {"/code", "/in"}, set()),
        ("echo done >> /logs/run.log 2>&1", set(), {"/logs"}),
        ("cat /x/a.json 2> /dev/null", {"/x"}, set()),
        ("for f in /g/*.json; do cat $f; done", {"/g"}, set()),
        ("curl -sS https://example.com/a -o /dl/a.html", set(), {"/dl"}),
        ("cd /work/dir && tar czf /arch/w.tgz data.csv", {"/work/dir"}, {"/arch"}),
        ("aws s3 cp /up/file.csv s3://bucket/key", {"/up"}, {"/up"}),
    ],
)
def test_bash_commands(command, read, write):
    files = bash_files(command, 1)
    assert not files.unresolved, files.unresolved
    assert {f.key for f in files.folders("read")} == read
    assert {f.key for f in files.folders("write")} == write


def test_bash_jinja_keeps_the_folder_and_globs_too():
    files = bash_files("cp /d/raw_{{ ds }}.csv /d/{{ ds_nodash }}/ && cat /g/*.json", 9)
    assert modes(files) == {"read": {path("/d"), path("/g")}, "write": {path("/d")}}


def test_bash_unresolved():
    files = bash_files(
        'D=$(date +%F); cp "$D/a" /tmp/b.txt && cat rel.txt && tar -xf /arch/a.tgz', 2
    )
    assert whys(files) == [
        "`$(date +%F)` is computed at run time",
        "a relative path: relative to the worker's working directory, which a job does not share",
        "extracts into the working directory, which a job does not share",
    ]
    assert modes(files)["write"] == {path("/tmp")}


def test_bash_bad_quotes_is_a_finding_not_a_crash():
    files = bash_files('cat "/x/unterminated', 4)
    assert files.accesses == () and "does not parse" in files.unresolved[0].why


# --- real-world shapes (paraphrased from public repositories) ---------------------------------


def test_real_bash_mkdir_cp_into_a_dated_folder():
    # ozzyathome/docker-airflow hades/hades.py: mkdir a {{ ds }} folder, cp a script in, run it.
    command = """
    mkdir -p /airflow/dags/{{ ds }};
    cp /airflow/dags/command.sh /airflow/dags/{{ ds }};
    sh /airflow/dags/{{ ds }}/command.sh;
    """
    files = bash_files(command, 14)
    assert modes(files) == {"read": {path("/airflow/dags")}, "write": {path("/airflow/dags")}}
    assert not files.unresolved


def test_real_pandas_producer_under_opt_airflow():
    # moreirafelipegbt/udemy-airflow dags/producer.py: a callable nested in `with DAG` reads
    # a CSV and writes a new one next to it.
    files = py(
        """
        import pandas as pd
        from airflow import DAG
        with DAG("producer") as dag:
            def my_file():
                dataset = pd.read_csv("/opt/airflow/data/Churn.csv", sep=";")
                dataset.to_csv("/opt/airflow/data/Churn_new.csv", sep=";")
        """,
        "my_file",
    )
    assert modes(files) == {
        "read": {path("/opt/airflow/data")},
        "write": {path("/opt/airflow/data")},
    }


def test_real_bash_rm_then_script_with_path_arguments():
    # Izel/airflow-base scripts/DAG.py: `rm /tmp/tst.csv`, then a script under /usr/local
    # moves -i /tmp/tst2.csv to -o /tmp/renamed.csv (the script itself is a system file).
    assert modes(bash_files("rm /tmp/tst.csv ", 1)) == {"read": set(), "write": {path("/tmp")}}
    files = bash_files(
        "python /usr/local/airflow/moveFile.py -i /tmp/tst2.csv -o /tmp/renamed.csv ", 2
    )
    assert modes(files) == {"read": {path("/tmp")}, "write": set()}


def test_real_bash_list_and_touch_with_a_jinja_expression():
    # AlekseyLoktev83/airflow-dags s3_worker_check.py: ls a folder, touch a file named by Jinja.
    assert bash_files("ls -la /tmp/data/src/ ", 1).folders("read") == (path("/tmp/data/src"),)
    files = bash_files("touch /tmp/data/src/check{{str(pendulum.now())}} ", 2)
    assert files.folders("write") == (path("/tmp/data/src"),)


def test_real_xcom_json_into_pandas_is_unresolved():
    # A PandasOp helper class: pd.read_json(ti.xcom_pull(...)["value"]).
    files = py(
        """
        import pandas as pd
        def convert_json_to_csv(ti, from_task_id):
            jsonstr = ti.xcom_pull(task_ids=from_task_id)
            df = pd.read_json(jsonstr["value"])
        """,
        "convert_json_to_csv",
    )
    assert files.accesses == ()
    assert files.unresolved[0].why.startswith("the path comes from XCom")
    assert files.unresolved[0].line == 5


def test_real_op_kwargs_file_names_and_a_relative_output():
    # A weather DAG: join_data(temperature_filename, humidity_filename, result_filename) with
    # op_kwargs literals; a CSV-to-JSON DAG writes `fromAirflow.json` relative to the worker.
    source = """
        import pandas as pd
        def join_data(temperature_filename, humidity_filename, result_filename):
            t = pd.read_csv(temperature_filename, header=0)
            h = pd.read_csv(humidity_filename, header=0)
            pd.merge(t, h).to_csv(result_filename)
        def csv_to_json():
            df = pd.read_csv("/home/me/Downloads/data.csv")
            df.to_json("fromAirflow.json", orient="records")
        """
    files = py(
        source,
        "join_data",
        temperature_filename="/usr/local/data/temperature.csv",
        humidity_filename="/data/weather/humidity.csv",
        result_filename="/data/weather/result.csv",
    )
    assert modes(files) == {"read": {path("/data/weather")}, "write": {path("/data/weather")}}
    other = py(source, "csv_to_json")
    assert other.folders("read") == (path("/home/me/Downloads"),)
    assert other.unresolved[0].expression == '"fromAirflow.json"'


def test_real_percent_formatted_bash_command_and_string_replace_on_dag_folder():
    # An Airflow 1 test DAG: 'echo success > %s/out.txt' % tempDir with tempDir = "/tmp";
    # a pipelines repo: data_dir = dirname(abspath(__file__)).replace("dags", ...) + "/input/x.csv".
    files = py(
        """
        import os
        TEMP = "/tmp"
        data_dir = os.path.dirname(os.path.abspath(__file__)).replace("dags", "pipelines/data")
        def task():
            os.system("echo success > %s/out.txt" % TEMP)
            open(data_dir + "/input/raw_data.csv")
        """
    )
    assert files.folders("write") == (path("/tmp"),)  # the shell command is analysed as bash
    assert files.unresolved[0].expression == 'data_dir + "/input/raw_data.csv"'


# --- never a traceback ------------------------------------------------------------------------

_WORDS = st.sampled_from(
    [
        "cp",
        "mv",
        "tar",
        "-czf",
        "-C",
        "-t",
        "mkdir",
        "-p",
        "cat",
        ">",
        ">>",
        "<",
        "&&",
        "||",
        ";",
        "|",
        "\n",
        "$OUT",
        "${X:-/tmp}",
        "${",
        "}",
        "$(date)",
        "`x`",
        "{{ ds }}",
        "/tmp/a",
        "a.txt",
        "OUT=/w",
        "for",
        "in",
        "do",
        "done",
        "'",
        '"',
        "*",
        "2>&1",
        "--",
        "=",
        "$",
        "(",
        ")",
        "cd",
        "python",
    ]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_WORDS, max_size=14), st.text(max_size=30))
def test_random_bash_never_raises(words, noise):
    result = bash_files(" ".join(words) + noise, 1, env={"OUT": noise})
    assert isinstance(result, TaskFiles)


_EXPRS = st.sampled_from(
    [
        "P",
        "'/tmp/x'",
        "f'{P}/{ds}'",
        "Path(P)",
        "os.path.join(P, ds)",
        "P / 'a'",
        "os.environ.get('E', '/d')",
        "os.environ['E']",
        "ti.xcom_pull()",
        "params['o']",
        "ds",
        "None",
        "1",
        "[P, ds]",
        "{'k': P}",
        "__file__",
        "Path(__file__).parent",
        "tempfile.gettempdir()",
        "helper(P)",
        "P + ds",
        "'%s/x' % P",
        "'{}/y'.format(P)",
        "(P or ds)",
        "(P if ds else 'x')",
        "glob.glob(P)",
        "os.listdir(P)",
        "Q",
        "lambda: 0",
        "P[1:]",
        "open(P)",
    ]
)
_CALLS = st.sampled_from(
    [
        "open({})",
        "open({}, 'w')",
        "Path({}).write_text('x')",
        "shutil.copy({}, {})",
        "pd.read_csv({})",
        "df.to_csv({})",
        "os.makedirs({})",
        "x = {}",
        "for q in {}: open(q)",
        "print({})",
        "unknown({})",
        "helper({})",
        "with open({}) as f: pass",
        "if {}: open({})",
    ]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(_CALLS, _EXPRS, _EXPRS), max_size=6))
def test_random_python_never_raises(lines):
    body = "\n".join(
        "    " + call.format(a, b) if call.count("{}") == 2 else "    " + call.format(a)
        for call, a, b in lines
    )
    source = (
        "import os, glob, shutil, tempfile\nfrom pathlib import Path\nimport pandas as pd\n"
        "P = '/w'\ndef helper(p):\n    open(p)\n    return p\n"
        f"def task(ds=None, ti=None, params=None, df=None):\n{body or '    pass'}\n"
    )
    result = python_files(source, "task", 8)
    assert isinstance(result, TaskFiles)


def test_a_deeply_nested_expression_is_a_finding_not_a_crash():
    source = "def task():\n    open(" + "(" * 300 + "'/x/a'" + ")" * 300 + ")\n"
    assert isinstance(python_files(source, "task", 1), TaskFiles)


def test_source_segments_match_ast_on_odd_line_ends():
    import ast

    from bridge.translate.files.module_index import parse_module

    source = 'x = 1\r\ny = "a\x0cb"\rz = (1,\n  "é")\nw = open("/q/é.txt")\n'
    index = parse_module(source)
    for node in ast.walk(index.tree):
        if isinstance(node, ast.expr):
            assert index.segment(node) == ast.get_source_segment(source, node)


def test_a_thousand_task_dag_stays_fast():
    import time

    head = "import os\nWORK = os.environ.get('W', '/tmp/w')\n"
    body = "".join(
        f"def t{i}(ds=None):\n    open(os.path.join(WORK, f'f{i}_{{ds}}.csv'), 'w')\n"
        for i in range(1000)
    )
    source = head + body
    started = time.perf_counter()
    for i in range(1000):
        files = python_files(source, f"t{i}", 3 + 2 * i)
        assert files.folders("write") == (Folder(kind="env", key="W", default="/tmp/w"),)
    assert time.perf_counter() - started < 30  # measured ~0.5 s; the bound only catches O(n²)
