"""Hostile ids and file names: what a DAG file says reaches the output only as data.

A property test translates DAGs whose dag id, task ids, TaskGroup id and file name are arbitrary
unicode (control characters, line breaks of every kind, quotes, `\"\"\"`, NUL, lone surrogates,
300 characters) or carry a code payload calling `INJECTED_MARKER()`, and checks every emitted
file: Python compiles, the marker is only ever inside a string or a comment token, the Markdown
and mermaid keep their shape, the manifest holds the ids unchanged, and nothing is written
outside OUT. Then one child process runs the top level of every emitted pipeline.py and step
script under an audit hook that forbids starting processes and writing files.

Regression tests below pin the defects found before: output folders outside OUT (`..`), a wiped
OUT (`.`, ``), code in comments and docstrings, two DAGs in one folder, BRG199 on odd ids.
"""

from __future__ import annotations

import ast
import io
import json
import os
import subprocess
import sys
import tokenize
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge import quoting
from bridge.config import BridgeConfig
from bridge.emit.folder import MARKER, OutputClaims, output_folder_name
from bridge.emit.translate_files import translate_file
from translators.registry import Registry

ROOT = Path(__file__).resolve().parent.parent
MARKER_NAME = "INJECTED_MARKER"
PAYLOADS = [
    f"\n{MARKER_NAME}()\n",
    f'"""\n{MARKER_NAME}()\n"""',
    f"'''\n{MARKER_NAME}()\n'''",
    f"')\n{MARKER_NAME}()\n#",
    f'")\n{MARKER_NAME}()\n#',
    f"\r{MARKER_NAME}()\r",
    f"\x0c{MARKER_NAME}()\x0b",
    f"\u2028{MARKER_NAME}()\u2029",
    f"\x85{MARKER_NAME}()\x1c",
    f"\\\n{MARKER_NAME}()",
    f'\\"""\n{MARKER_NAME}()\n',
    f"` | {MARKER_NAME} <script>{MARKER_NAME}()</script>",
    f'"]\n  {MARKER_NAME}["x',
    f"\n```\n{MARKER_NAME}()\n```\n",
    f"{{{MARKER_NAME}}}",
    f"\x00{MARKER_NAME}()",
    f"\ud800{MARKER_NAME}()\udfff",
    f"\u202e{MARKER_NAME}()\u2066",
    "x" * 300,
    ".",
    "..",
    "",
    "/",
    "../../etc",
]

TEMPLATE = """from airflow.sdk import DAG, TaskGroup
from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.python import PythonOperator
from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from company.ops import Magic


def work():
    return 1


with DAG(dag_id={dag_id!r}, schedule=None):
    a = BashOperator(task_id={t0!r}, bash_command="echo hi")
    with TaskGroup(group_id={group!r}):
        b = PythonOperator(task_id={t1!r}, python_callable=work)
        c = Magic(task_id={t2!r})
    d = TriggerDagRunOperator(task_id={t3!r}, trigger_dag_id="child")
    a >> b >> c >> d
"""

# Every character but surrogates (hypothesis' default) plus, explicitly, the nasty ones.
_CHARS = st.characters(blacklist_categories=("Cs",)) | st.sampled_from(
    list("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029\x00\t\"'`|\\<>#%{}[]./\u202e\ufeff\ud800")
)
_TEXT = st.text(_CHARS, max_size=12)


def _ids(text, payloads):
    return st.one_of(
        text,
        st.sampled_from(payloads),
        st.builds(lambda a, p, b: a + p + b, text, st.sampled_from(payloads), text),
    )


IDS = TASK_IDS = _ids(_TEXT, PAYLOADS)
# A file name: anything a Linux file system takes (no `/`, NUL or surrogate), under 255 bytes.
FILE_NAMES = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="/\x00"), max_size=40
).map(lambda s: s + ".py") | st.sampled_from(
    [f"dag\n{MARKER_NAME}()\n.py", f'dag"""\n{MARKER_NAME}()\n.py', "dag`|<b>.py", "-.py"]
)


def dag_source(dag_id: str, group: str, tasks: list[str]) -> str:
    t0, t1, t2, t3 = tasks
    return TEMPLATE.format(dag_id=dag_id, group=group, t0=t0, t1=t1, t2=t2, t3=t3)


def translate(path: Path, out: Path, claims: OutputClaims | None = None):
    """One file; calls passing the same `claims` are one run (as one `bridge translate`)."""
    return translate_file(path, Registry.default(), BridgeConfig(), out, claims)


# --- what every emitted folder must satisfy -------------------------------------------------------


def marker_only_in_data(path: Path, marker: str = MARKER_NAME) -> None:
    """The file compiles, no code names the marker (as `INJECTED_MARKER()` or
    `__import__(...)` would), and the marker is otherwise inside string or comment tokens only
    (a variable made from an id may hold it sanitised: `a___import___pathlib`)."""
    source = path.read_text(encoding="utf-8")
    tree = compile(source, str(path), "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
    for node in ast.walk(tree):
        assert getattr(node, "id", None) != marker, f"{path}: code names {marker}"
        assert getattr(node, "attr", None) != marker, f"{path}: code names {marker}"
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.NAME:
            assert tok.string != marker, (path, tok)
        elif marker in tok.string:
            assert tok.type in (tokenize.STRING, tokenize.COMMENT), (path, tok)


_MERMAID_LINE = (
    r"\s*(%% .*|flowchart LR|end"
    r'|subgraph t_\w*\["[^"`\n]*"\]'
    r'|t_\w*(\[|\{\{)"[^"`]*"(\]|\}\})'
    r'|t_\w* (-->|-\.->)(\|"[^"`]*"\|)? t_\w*'
    r'|s\d+[\[{]"[^"`]*"[\]}]'
    r"|s\d+ (-->|-- (if|else) -->) s\d+)"
)
# How each line of REPORT.md outside the mermaid fences starts: a line break in an id would make
# a line that starts some other way.
_REPORT_LINES = (
    "# ",
    "## ",
    "| ",
    "|---",
    "- BRG",
    "- `",  # a DAG setting SageMaker does not keep, its value in a code span
    "Source: ",
    "Schedule: ",
    "None.",
    "Nothing lost.",
    "Steps ",
    "What SageMaker does not keep",
    "Each job has its own disk",
)


def report_keeps_its_shape(path: Path) -> None:
    import re

    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    fenced = False
    for line in lines:
        if line.startswith("```"):
            fenced = not fenced
            continue
        if fenced:
            assert re.fullmatch(_MERMAID_LINE, line), (path, line)
        else:
            assert line.startswith(_REPORT_LINES) or not line, (path, line)
            text_only = re.sub(r"(`+)(.+?)(?<!`)\1(?!`)", "", line)  # HTML in code spans is text
            assert "<script" not in text_only, (path, line)
        if line.startswith("| "):
            cells = re.split(r"(?<!\\)\|", line)
            assert len(cells) - 2 in (4, 7), (path, line)  # the parameter or the task table
    assert not fenced, path


def check_folder(folder: Path, out: Path, dag_id: str) -> None:
    assert folder.parent.resolve() == out.resolve()
    assert folder.name == output_folder_name(dag_id)
    assert len(folder.name.encode()) <= 255 and (folder / MARKER).is_file()
    for py in [folder / "pipeline.py", *sorted((folder / "steps").glob("*.py"))]:
        marker_only_in_data(py)
    report_keeps_its_shape(folder / "REPORT.md")
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["dag_id"] == dag_id


def tree_outside(tmp: Path, out: Path) -> set[Path]:
    return {p for p in tmp.rglob("*") if out not in p.parents and p != out}


# --- running the top level of what was emitted, in a sandbox ------------------------------------

_SANDBOX = r"""
import ast, json, os, runpy, sys
from pathlib import Path

sys.dont_write_bytecode = True
from bridge.emit.validate import offline_environment

offline_environment()
import importlib, warnings, logging
warnings.filterwarnings("ignore")
logging.disable(logging.WARNING)
files = json.loads(sys.stdin.read())
# What the emitted files import is imported first, outside the hook (the SDK writes caches),
# with what their folder's pipeline_support.py imports.
supports = {str(Path(f).parent / "pipeline_support.py") for f in files}
for f in [*files, *(s for s in sorted(supports) if Path(s).is_file())]:
    for node in ast.parse(Path(f).read_text(encoding="utf-8")).body:
        names = [node.module] if isinstance(node, ast.ImportFrom) else (
            [a.name for a in node.names] if isinstance(node, ast.Import) else [])
        for name in names:
            if name and name.split(".")[0] in {"sagemaker", "boto3", "argparse", "json", "os",
                                               "pathlib", "re", "time", "sys", "__future__",
                                               "functools", "collections", "dataclasses"}:
                importlib.import_module(name)

violations = []
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
PROCESS = ("subprocess.Popen", "os.system", "os.exec", "os.spawn", "os.posix_spawn", "os.fork",
           "os.forkpty", "pty.spawn", "os.startfile")
FILES = ("os.remove", "os.unlink", "os.rename", "os.replace", "os.rmdir", "os.mkdir",
         "os.truncate", "os.chmod", "os.symlink", "os.link", "shutil.")


def hook(event, args):
    bad = event.startswith(PROCESS) or event.startswith(FILES)
    if event == "open":
        path, mode, flags = (list(args) + [None, None, 0])[:3]
        bad = bool(mode and any(c in str(mode) for c in "wax+")) or bool((flags or 0) & WRITE_FLAGS)
    if bad:
        violations.append(f"{event} {args!r}"[:300])
        raise RuntimeError(f"forbidden in a generated module's top level: {event}")


sys.addaudithook(hook)
errors = {}
for f in files:
    sys.modules.pop("pipeline_support", None)  # each folder's own copy, as `python pipeline.py`
    sys.path.insert(0, str(Path(f).parent))
    try:
        runpy.run_path(f, run_name="bridge_probe")  # not __main__: the top level only
    except BaseException as exc:
        errors[f] = f"{type(exc).__name__}: {exc}"[:500]
    finally:
        sys.path.pop(0)
sys.stdout.write(json.dumps({"violations": violations, "errors": errors}))
"""


def run_top_levels(files: list[Path]) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", _SANDBOX],
        input=json.dumps([str(f) for f in files]),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


# --- the property ---------------------------------------------------------------------------------


def test_hostile_ids_and_file_names_stay_data(tmp_path_factory):
    emitted: list[Path] = []
    claims = OutputClaims()

    @settings(
        max_examples=25,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        dag_id=IDS,
        group=TASK_IDS,
        tasks=st.lists(TASK_IDS, min_size=4, max_size=4, unique=True),
        file_name=FILE_NAMES,
    )
    def case(dag_id, group, tasks, file_name):
        tmp = tmp_path_factory.mktemp("hostile")
        if file_name in (".py", "..py") or len(file_name.encode()) > 250:
            file_name = "dag.py"
        path = tmp / file_name
        path.write_text(dag_source(dag_id, group, tasks), encoding="utf-8")
        out = tmp / "out"
        before = tree_outside(tmp, out)
        outcome = translate(path, out, claims)
        codes = [d.code for d in outcome.diagnostics] + [
            d.code for dag in outcome.dags for d in dag.diagnostics
        ]
        assert "BRG199" not in codes, [
            d.message for dag in outcome.dags for d in dag.diagnostics if d.code == "BRG199"
        ] + [d.message for d in outcome.diagnostics if d.code == "BRG199"]
        assert tree_outside(tmp, out) == before  # nothing written or deleted outside OUT
        for dag in outcome.dags:
            if dag.folder is None:
                continue
            check_folder(dag.folder, out, dag.dag_id)
            emitted.append(dag.folder)

    case()
    assert emitted, "no example produced an output folder"
    files = [
        p for folder in emitted for p in [folder / "pipeline.py", *(folder / "steps").glob("*.py")]
    ]
    result = run_top_levels(files)
    assert result["violations"] == []
    assert result["errors"] == {}


def test_the_sandbox_catches_side_effects(tmp_path):
    """The check above means something: a top level that writes or starts a process is caught."""
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import os, subprocess\n"
        f"open({str(tmp_path / 'w.txt')!r}, 'w')\n"
        "os.system('true')\n"
        "try:\n    subprocess.run(['true'])\nexcept RuntimeError:\n    pass\n"
    )
    result = run_top_levels([bad])
    assert str(bad) in result["errors"] and result["violations"][0].startswith("open ")
    assert not (tmp_path / "w.txt").exists()
    run_time = tmp_path / "caught.py"
    run_time.write_text(
        "import subprocess\ntry:\n    subprocess.run(['true'])\nexcept RuntimeError:\n    pass\n"
    )
    assert run_top_levels([run_time])["violations"][0].startswith("subprocess.Popen")


def test_quoting_functions_hold_for_any_text():
    @settings(max_examples=300, deadline=None, database=None)
    @given(text=st.text(_CHARS, max_size=40))
    def case(text):
        for quoted in (quoting.comment(text), quoting.md_code(text), quoting.md_text(text)):
            assert len(quoted.splitlines()) <= 1 and "\x00" not in quoted
            quoted.encode("utf-8")  # no lone surrogate reaches a file
        assert ast.literal_eval(quoting.py_literal(text)) == text
        doc = f'"""{quoting.docstring(text)}"""'
        assert ast.literal_eval(doc) == text
        assert len(doc.splitlines()) <= 1
        compile(f"# {quoting.comment(text)}\nx = 1\n", "t", "exec")
        label = quoting.mermaid_label(text)
        assert not set('"`<>\n') & set(label)
        dot = quoting.dot_string(text)
        assert dot.startswith('"') and dot.endswith('"') and "\n" not in dot
        name = quoting.path_component(text)
        assert name not in ("", ".", "..") and not name.startswith(".")
        assert "/" not in name and "\\" not in name and "\x00" not in name
        assert len(name.encode("utf-8", "surrogatepass")) <= 255 and name.isprintable()
        code = quoting.md_code(text, table=True)
        assert "|" not in code.replace("\\|", "")

    case()


def test_ordinary_ids_are_not_changed():
    for text in ("train_model", "ml-pipeline.v2", "étape_1", "a" * 250):
        assert quoting.path_component(text) == text
        assert quoting.comment(text) == text == quoting.docstring(text)
        assert quoting.md_code(text) == f"`{text}`" and quoting.mermaid_label(text) == text


# --- regressions -----------------------------------------------------------------------------------

HEADER = (
    "from airflow.sdk import DAG, TaskGroup\n"
    "from airflow.providers.standard.operators.bash import BashOperator\n"
    "from airflow.providers.standard.operators.python import PythonOperator\n"
    "from company.ops import Magic\n\n\n"
    "def work():\n    return 1\n\n\n"
)


def simple_dag(dag_id: str, task_id: str = "a") -> str:
    return (
        HEADER + f"with DAG(dag_id={dag_id!r}, schedule=None):\n"
        f"    BashOperator(task_id={task_id!r}, bash_command='echo hi')\n"
    )


def write(folder: Path, name: str, source: str) -> Path:
    path = folder / name
    path.write_text(source, encoding="utf-8")
    return path


def test_dotdot_dag_id_stays_inside_out_and_deletes_nothing(tmp_path):
    """Defect 1: `..` wrote into the user's folder, and the second run deleted it."""
    project = tmp_path / "project"
    project.mkdir()
    dag = write(project, "dag.py", simple_dag(".."))
    keep = write(project, "notes.txt", "mine\n")
    out = project / "out"
    for _ in range(2):
        (outcome,) = translate(dag, out).dags
        assert outcome.folder is not None and outcome.folder.parent == out
        assert outcome.folder.name == output_folder_name("..") != ".."
        assert any(d.code == "BRG222" for d in outcome.diagnostics)
    assert dag.is_file() and keep.read_text() == "mine\n"
    assert sorted(p.name for p in project.iterdir()) == ["dag.py", "notes.txt", "out"]
    assert [p.name for p in out.iterdir()] == [outcome.folder.name]


@pytest.mark.parametrize("dag_id", [".", "", "/", "./.", "a/../.."])
def test_dot_and_empty_ids_do_not_wipe_a_folder_run(tmp_path, dag_id):
    """Defect 2: `.` or `` wiped OUT, deleting what the run had written before."""
    dags = tmp_path / "dags"
    dags.mkdir()
    write(dags, "a_first.py", simple_dag("first"))
    write(dags, "b_odd.py", simple_dag(dag_id))
    write(dags, "c_last.py", simple_dag("last"))
    out = tmp_path / "out"
    claims = OutputClaims()
    outcomes = [translate(p, out, claims) for p in sorted(dags.glob("*.py"))]
    folders = [d.folder for o in outcomes for d in o.dags]
    assert all(f is not None and f.parent == out for f in folders)
    assert all((f / "pipeline.py").is_file() for f in folders)  # reported written: still there
    assert len({f.name for f in folders}) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dags", "out"]


@pytest.mark.slow
def test_ids_and_file_name_with_code_do_not_run_in_translate(tmp_path):
    """Defects 3, 4, 5: a task or group id with a line break and code went into a comment of
    pipeline.py (and the placeholder's), `\"\"\"` closed a step script's docstring, and a file
    name went raw into comments; validation (part of `bridge translate`) ran the code."""
    pwned = tmp_path / "PWNED"
    touch = f"__import__('pathlib').Path({str(pwned)!r}).touch()"
    source = HEADER + (
        f"with DAG(dag_id={'d' + chr(34) * 3 + chr(10) + touch + chr(10) + chr(34) * 3!r}):\n"
        f"    a = BashOperator(task_id={'a' + chr(10) + touch!r}, bash_command='echo hi')\n"
        f"    with TaskGroup(group_id={'g' + chr(10) + touch + chr(10)!r}):\n"
        f"        b = PythonOperator(task_id={'b' + chr(34) * 3 + chr(10) + touch + chr(10) + chr(34) * 3!r},"
        " python_callable=work)\n"
        f"        c = Magic(task_id={'c' + chr(13) + touch!r})\n"
        "    a >> b >> c\n"
    )
    # A file name holds no `/`: its payload writes PWNED2 into the working directory.
    dag = write(tmp_path, "dag\n__import__('pathlib').Path('PWNED2').touch()\n.py", source)
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "bridge.cli", "translate", str(dag), "-o", str(out)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )
    assert "BRG199" not in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert " valid" in done.stdout, done.stdout + done.stderr
    (folder,) = [p for p in out.iterdir()]
    for py in [folder / "pipeline.py", *(folder / "steps").glob("*.py")]:
        marker_only_in_data(py, "__import__")
    for step in (folder / "steps").glob("*.py"):  # the step scripts' top level, as a step runs
        subprocess.run(
            [sys.executable, "-c", f"import runpy; runpy.run_path({str(step)!r}, run_name='x')"],
            check=False,
            capture_output=True,
            cwd=tmp_path,
        )
    assert not pwned.exists() and list(tmp_path.rglob("PWNED*")) == []


def test_marker_payloads_stay_in_comments_and_strings(tmp_path):
    """Defects 3, 4, 5 without validation: every emitted .py compiles and names no marker."""
    for i, payload in enumerate(PAYLOADS[:18]):
        source = dag_source(
            f"d{payload}",
            f"g{payload}",
            [f"a{payload}", f"b{payload}", f"c{payload}", f"e{payload}"],
        )
        dag = write(tmp_path, f"dag{i}.py", source)
        (outcome,) = translate(dag, tmp_path / "out").dags
        assert outcome.folder is not None, [d.message for d in outcome.diagnostics]
        check_folder(outcome.folder, tmp_path / "out", outcome.dag_id)


def test_bare_triple_quote_id_translates(tmp_path):
    """Defect 4: `a\"\"\"b` ended in BRG199 and left invalid .py files behind."""
    dag = write(tmp_path, "dag.py", simple_dag('a"""b', 'a"""b'))
    (outcome,) = translate(dag, tmp_path / "out").dags
    assert outcome.folder is not None
    assert not any(d.code == "BRG199" for d in outcome.diagnostics)
    for py in [outcome.folder / "pipeline.py", *(outcome.folder / "steps").glob("*.py")]:
        compile(py.read_text(), str(py), "exec")


def test_same_dag_id_in_two_files_is_a_diagnostic(tmp_path):
    """Defect 10: the second file silently overwrote the first, both reported written."""
    first = write(tmp_path, "first.py", simple_dag("same", "one"))
    second = write(tmp_path, "second.py", simple_dag("same", "two"))
    out = tmp_path / "out"
    claims = OutputClaims()
    (a,) = translate(first, out, claims).dags
    (b,) = translate(second, out, claims).dags
    assert a.folder is not None and b.folder is None
    (clash,) = [d for d in b.diagnostics if d.code == "BRG220"]
    assert clash.severity == "error" and "first.py" in clash.message
    assert clash.path == str(second)
    manifest = json.loads((a.folder / "manifest.json").read_text())
    assert manifest["source"]["path"] == str(first) and list(manifest["tasks"]) == ["one"]
    # The same file again in the same run (listed twice) is no clash.
    (again,) = translate(first, out, claims).dags
    assert again.folder == a.folder
    # A new run may translate the other file into the folder.
    (later,) = translate(second, out).dags
    assert later.folder == a.folder


def test_case_folded_ids_clash_and_separators_do_not(tmp_path):
    claims = OutputClaims()
    out = tmp_path / "out"
    paths = [
        write(tmp_path, f"{i}.py", simple_dag(d))
        for i, d in enumerate(["Train", "train", "a/b", "a_b"])
    ]
    results = [translate(p, out, claims).dags[0] for p in paths]
    assert results[0].folder is not None and results[1].folder is None
    assert any(d.code == "BRG220" and "0.py" in d.message for d in results[1].diagnostics)
    assert results[2].folder is not None and results[3].folder is not None
    assert results[2].folder != results[3].folder


def test_two_dags_of_a_folder_run_clash_in_the_cli(tmp_path):
    dags = tmp_path / "dags"
    dags.mkdir()
    write(dags, "one.py", simple_dag("same"))
    write(dags, "two.py", simple_dag("same"))
    done = subprocess.run(
        [sys.executable, "-m", "bridge.cli", "translate", str(dags), "-o", str(tmp_path / "out")]
        + ["--no-validate"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 1
    assert "BRG220" in done.stderr and "one.py" in done.stderr and "two.py" in done.stderr


def test_long_and_nul_ids_translate_with_a_clear_diagnostic(tmp_path):
    """Defect 15: a 300-character dag id and a NUL in an id ended in BRG199."""
    for i, (dag_id, task_id) in enumerate(
        [("x" * 300, "t" * 300), ("a\x00b", "c\x00d"), ("é" * 200, "ü" * 200)]
    ):
        dag = write(tmp_path, f"dag{i}.py", simple_dag(dag_id, task_id))
        (outcome,) = translate(dag, tmp_path / "out").dags
        codes = [d.code for d in outcome.diagnostics]
        assert "BRG199" not in codes and "BRG222" in codes
        assert outcome.folder is not None and len(outcome.folder.name.encode()) <= 255
        manifest = json.loads((outcome.folder / "manifest.json").read_text())
        assert manifest["dag_id"] == dag_id and list(manifest["tasks"]) == [task_id]


# --- what the bridge deletes ------------------------------------------------------------------------


def test_a_folder_the_bridge_did_not_write_is_left_alone(tmp_path):
    out = tmp_path / "out"
    mine = out / "train"
    mine.mkdir(parents=True)
    (mine / "notes.txt").write_text("mine\n")
    (outcome,) = translate(write(tmp_path, "dag.py", simple_dag("train")), out).dags
    assert outcome.folder is None
    (refused,) = [d for d in outcome.diagnostics if d.code == "BRG221"]
    assert refused.severity == "error" and "train" in refused.message
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"]


def test_an_empty_folder_is_used_and_a_marked_one_replaced(tmp_path):
    out = tmp_path / "out"
    (out / "train").mkdir(parents=True)
    dag = write(tmp_path, "dag.py", simple_dag("train"))
    (first,) = translate(dag, out).dags
    assert first.folder == out / "train" and (first.folder / MARKER).is_file()
    (first.folder / "stale.txt").write_text("x")
    (second,) = translate(dag, out).dags
    assert second.folder == first.folder and not (second.folder / "stale.txt").exists()


def test_a_folder_written_before_the_marker_is_replaced(tmp_path):
    """Existing users' out/ folders lack the marker: a manifest.json of the same DAG next to a
    pipeline.py marks them as the bridge's."""
    out = tmp_path / "out"
    old = out / "train"
    old.mkdir(parents=True)
    (old / "pipeline.py").write_text("# old\n")
    (old / "manifest.json").write_text(json.dumps({"schema_version": 1, "dag_id": "train"}))
    (outcome,) = translate(write(tmp_path, "dag.py", simple_dag("train")), out).dags
    assert outcome.folder == old and (old / MARKER).is_file()
    assert (old / "pipeline.py").read_text() != "# old\n"
    # ...but not when the manifest is another DAG's.
    other = out / "other"
    other.mkdir()
    (other / "pipeline.py").write_text("# mine\n")
    (other / "manifest.json").write_text(json.dumps({"schema_version": 1, "dag_id": "train"}))
    (refused,) = translate(write(tmp_path, "o.py", simple_dag("other")), out).dags
    assert refused.folder is None and (other / "pipeline.py").read_text() == "# mine\n"


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_a_link_in_out_is_not_followed(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / MARKER).write_text("x")  # even a marked folder behind a link is not deleted
    (elsewhere / "keep.txt").write_text("keep")
    (out / "train").symlink_to(elsewhere, target_is_directory=True)
    (outcome,) = translate(write(tmp_path, "dag.py", simple_dag("train")), out).dags
    assert outcome.folder is None and any(d.code == "BRG221" for d in outcome.diagnostics)
    assert (elsewhere / "keep.txt").read_text() == "keep"
