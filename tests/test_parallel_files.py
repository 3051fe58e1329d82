"""Folder runs in parallel (`bridge translate / analyze / graph` over many files): the same
stdout, diagnostics, output folders and bytes as the files one after another; each file within
its own time limit (BRG225); the workers really run side by side."""

from __future__ import annotations

import faulthandler
import json
import os
import pty
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bridge.file_pool import Stopped, available_cores, run_pool
from tests.conftest import ROOT, SAMPLE_DAGS

BRIDGE = [sys.executable, "-m", "bridge.cli"]

# The serial runs the parallel ones must equal: the commands' loops as they were, one file after
# another in this process (translate with one OutputClaims for the run).
SERIAL = {
    "translate": """
import sys
from pathlib import Path
from bridge.config import BridgeConfig
from bridge.console import print_outcomes
from bridge.emit.folder import OutputClaims
from bridge.emit.translate_files import translate_file
from bridge.parse.discover import collect_files
from translators.registry import Registry
out, folder, rules = Path(sys.argv[1]).resolve(), Path(sys.argv[2]), sys.argv[3:]
registry, claims = Registry.default(extra_modules=rules), OutputClaims()
outcomes = [translate_file(f, registry, BridgeConfig(), out, claims) for f in collect_files([folder])]
sys.exit(1 if print_outcomes(outcomes, {}, strict=False) else 0)
""",
    "analyze": """
import sys
from pathlib import Path
from bridge.config import BridgeConfig
from bridge.emit.translate_files import translate_file
from bridge.parse.discover import collect_files
from bridge.translate.coverage import coverage_table, render_coverage
from translators.registry import Registry
registry = Registry.default()
files = collect_files([Path(sys.argv[1])])
print(render_coverage(coverage_table([translate_file(f, registry, BridgeConfig(), None) for f in files]), "json"))
""",
    "graph": """
import sys
from pathlib import Path
from bridge.parse.discover import collect_files
from bridge.parse.render import to_json
from bridge.parse.worker import parse_file_budgeted
print(to_json([parse_file_budgeted(f) for f in collect_files([Path(sys.argv[1])])], None, full=True))
""",
}


def run(args: list[str], cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        args, capture_output=True, text=True, cwd=cwd, env=env, check=False, timeout=600
    )


def serial(
    command: str, *args: str, cwd: Path, env: dict | None = None
) -> subprocess.CompletedProcess:
    return run([sys.executable, "-c", SERIAL[command], *args], cwd, env)


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under the folder, by relative path, with its bytes."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def sample_folder(root: Path) -> Path:
    """The sample DAGs (with the data they read next to them) and the test DAGs, as a folder
    inside a git repository, so that the deploy files name their folder's path in it."""
    (root / ".git").mkdir(parents=True)
    dags = root / "dags"
    shutil.copytree(SAMPLE_DAGS, dags, ignore=shutil.ignore_patterns("__pycache__"))
    for f in (ROOT / "tests" / "dags").glob("*.py"):
        shutil.copy(f, dags / f.name)
    return dags


def write_dag(path: Path, *dag_ids: str, tasks: int = 1) -> Path:
    lines = [
        "from airflow.sdk import DAG",
        "from airflow.providers.standard.operators.bash import BashOperator",
    ]
    for dag_id in dag_ids:
        lines.append(f"with DAG({dag_id!r}, schedule=None):")
        lines += [
            f"    t{i} = BashOperator(task_id='t{i}', bash_command='echo {i}')"
            for i in range(tasks)
        ]
        lines += [f"    t{i - 1} >> t{i}" for i in range(1, tasks)]
    path.write_text("\n".join(lines) + "\n")
    return path


def kept_run_record(out: Path, name: str) -> None:
    """An earlier translation of `name` with a `bridge run` record, which must survive."""
    folder = out / name
    (folder / "runs" / "20260101T000000").mkdir(parents=True)
    (folder / "runs" / "20260101T000000" / "run.json").write_text('{"status": "Succeeded"}\n')
    (folder / ".bridge-output").write_text("old\n")
    (folder / "stale.py").write_text("# from the previous translation\n")


def same_as_serial(
    folder: Path, cwd: Path, prepare=lambda out: None, rules: str | None = None
) -> subprocess.CompletedProcess:
    """Translate `folder` serially and in parallel into the same OUT (the deploy files name it);
    assert equal exit codes, stdout, stderr and output trees; the parallel run's result.
    `rules`: a --rules module in `cwd`."""
    out = cwd / "out"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(cwd), str(ROOT)]))
    prepare(out)
    expected = serial(
        "translate", str(out), str(folder), *([rules] if rules else []), cwd=cwd, env=env
    )
    expected_tree = tree(out)
    shutil.rmtree(out)
    prepare(out)
    args = ["translate", "--no-validate", "-j", "2", "-o", str(out), str(folder)]
    done = run([*BRIDGE, *args, *(["--rules", rules] if rules else [])], cwd, env)
    assert (done.returncode, done.stdout) == (expected.returncode, expected.stdout)
    assert done.stderr == expected.stderr
    assert tree(out) == expected_tree
    assert not [p for p in out.iterdir() if p.name.startswith(".bridge-staging")]
    return done


def test_translate_in_parallel_gives_the_serial_bytes(tmp_path):
    dags = sample_folder(tmp_path)
    done = same_as_serial(dags, tmp_path, lambda out: kept_run_record(out, "file_handoff"))
    assert done.stdout.count("\n") == 8, done.stdout  # every DAG of the folder has its line
    handoff = tmp_path / "out" / "file_handoff"
    assert (handoff / "runs" / "20260101T000000" / "run.json").is_file()  # kept, as serially
    assert not (handoff / "stale.py").exists()
    buildspec = (handoff / "deploy" / "buildspec.yml").read_text()
    assert 'PIPELINE_DIR: "out/file_handoff"' in buildspec  # its place, not the staging folder's


def test_output_folder_clashes_resolve_as_serially(tmp_path):
    dags = tmp_path / "dags"
    dags.mkdir()
    write_dag(dags / "a.py", "same")
    write_dag(dags / "b.py", "same")  # the later file loses: BRG220 naming a.py
    write_dag(dags / "c.py", "SAME")  # the same folder where case is folded
    write_dag(dags / "d.py", "twice", "twice")  # a clash inside one file
    write_dag(dags / "e.py", "taken")  # OUT/taken is someone else's: BRG221
    write_dag(dags / "f.py", "taken_too", "same")  # after a refusal, another clash

    def prepare(out: Path) -> None:
        (out / "taken").mkdir(parents=True)
        (out / "taken" / "notes.txt").write_text("mine\n")

    done = same_as_serial(dags, tmp_path, prepare)
    assert done.returncode == 1
    clashes = [line for line in done.stderr.splitlines() if "BRG220" in line]
    assert [c.split(":", 1)[0].rsplit("/", 1)[-1] for c in clashes] == [
        "b.py",
        "c.py",
        "d.py",
        "f.py",
    ]
    assert all("a.py" in c for c in clashes if "twice" not in c)
    assert "BRG221" in done.stderr
    assert (tmp_path / "out" / "taken" / "notes.txt").read_text() == "mine\n"


USER_RULES = """
from bridge.translate.step_specs import LambdaSpec
from translators.registry import StepDraft, Translation, rule


@rule("company.ops.Shout", name="shout")
def shout(task, ctx):
    '''A Lambda step created from a handler file; a file name that leaves steps/ for task `bad`.'''
    name = "../escape.py" if task.task_id == "bad" else "handler.py"
    function = {"create": {"file": name, "handler": "handler.handler", "timeout": 60}}
    spec = LambdaSpec(function=function, files={name: "def handler(event, context):\\n    return {}\\n"})
    return Translation("step", "exact", [StepDraft("Lambda", spec)])
"""


def test_user_rules_reach_the_workers_and_an_error_after_a_claim_is_as_serial(tmp_path):
    (tmp_path / "my_rules.py").write_text(USER_RULES)
    dags = tmp_path / "dags"
    dags.mkdir()
    for name, dag_id, task_id in [
        ("a", "crash", "bad"),
        ("b", "crash", "fine"),
        ("c", "custom", "fine"),
    ]:
        (dags / f"{name}.py").write_text(
            "from airflow.sdk import DAG\nfrom company.ops import Shout\n"
            f"with DAG({dag_id!r}, schedule=None):\n    Shout(task_id={task_id!r})\n"
        )
    done = same_as_serial(dags, tmp_path, rules="my_rules")
    # a.py's folder was claimed before emit failed (BRG199): b.py's DAG of that id is refused.
    assert "a.py:3: BRG199 error: DAG `crash`: internal error" in done.stderr
    assert "b.py:3: BRG220 error: DAG `crash`" in done.stderr
    manifest = json.loads((tmp_path / "out" / "custom" / "manifest.json").read_text())
    assert manifest["tasks"]["fine"]["rule"] == "shout"  # the user's rule, in a worker


def test_a_file_over_its_time_limit_is_stopped_and_the_others_are_written(tmp_path):
    dags = tmp_path / "dags"
    dags.mkdir()
    for name in ("a", "b", "d"):
        write_dag(dags / f"{name}.py", name, tasks=3)
    write_dag(dags / "c_slow.py", "slow", tasks=6000)  # takes well over 4 s to translate
    out = tmp_path / "out"
    kept_run_record(out, "slow")
    before = tree(out / "slow")
    start = time.monotonic()
    args = ["translate", "--no-validate", "--file-timeout", "4", "-o", str(out), str(dags)]
    done = run([*BRIDGE, *args], tmp_path)
    assert time.monotonic() - start < 60
    assert done.returncode == 1
    assert (
        f"{dags / 'c_slow.py'}:0: BRG225 error: not finished: took longer than 4 s" in done.stderr
    )
    assert "Traceback" not in done.stderr
    assert [line.split(":")[0] for line in done.stdout.splitlines()] == [
        "out/a",
        "out/b",
        "out/d",
    ]
    assert all((out / n / "pipeline.py").is_file() for n in "abd")
    assert tree(out / "slow") == before  # nothing of the stopped file was written
    assert sorted(p.name for p in out.iterdir()) == ["a", "b", "d", "slow"]
    # The stopped worker's process group went with it: nothing of this run is left running.
    deadline = time.monotonic() + 10
    while _running(str(dags)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _running(str(dags)) == []


def test_workers_die_with_a_killed_run(tmp_path):
    """SIGTERM: the workers go with the command, even mid-file, and its staging folder too."""
    dags = tmp_path / "dags"
    dags.mkdir()
    for name in ("a", "b"):
        write_dag(dags / f"{name}.py", name, tasks=12000)
    args = [*BRIDGE, "translate", "--no-validate", "-o", str(tmp_path / "out"), str(dags)]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while len(_running(str(dags))) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(_running(str(dags))) >= 3  # the command and its two workers
    proc.terminate()
    assert proc.wait(timeout=30) == 128 + 15
    deadline = time.monotonic() + 10
    while _running(str(dags)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _running(str(dags)) == []
    assert list((tmp_path / "out").glob(".bridge-staging-*")) == [], "staging left behind"


def _running(marker: str) -> list[str]:
    """Live processes (not zombies) whose command line names `marker`."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if marker in cmdline and state != "Z":
            found.append(cmdline)
    return found


def test_file_timeout_from_the_environment_and_out_left_alone(tmp_path):
    dags = tmp_path / "dags"
    dags.mkdir()
    for name in ("a", "b"):
        write_dag(dags / f"{name}.py", name)
    out = tmp_path / "out"
    env = dict(os.environ, BRIDGE_FILE_TIMEOUT="0.001")
    done = run([*BRIDGE, "translate", "--no-validate", "-o", str(out), str(dags)], tmp_path, env)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.count("BRG225 error: not finished: took longer than 0.001 s") == 2
    assert not out.exists()  # as a serial run that wrote nothing leaves it
    # One file is translated in the bridge process itself: no start-up cost, no file limit.
    alone = run(
        [*BRIDGE, "translate", "--no-validate", "-o", str(out), str(dags / "a.py")], tmp_path, env
    )
    assert alone.returncode == 0 and alone.stdout.startswith("out/a: 1 tasks")


def test_analyze_and_graph_in_parallel_give_the_serial_output(tmp_path):
    dags = sample_folder(tmp_path)
    expected = serial("analyze", str(dags), cwd=tmp_path)
    done = run([*BRIDGE, "analyze", "-f", "json", "-j", "2", str(dags)], tmp_path)
    assert done.returncode == 0 and done.stdout == expected.stdout
    assert json.loads(done.stdout)["total"]["tasks"] > 40
    expected = serial("graph", str(dags), cwd=tmp_path)
    done = run([*BRIDGE, "graph", "-f", "json", "--full", "-j", "2", str(dags)], tmp_path)
    assert done.stdout == expected.stdout and json.loads(done.stdout)["files"]
    stopped = run(
        [*BRIDGE, "analyze", "-f", "json", "--file-timeout", "0.001", str(dags)], tmp_path
    )
    assert json.loads(stopped.stdout)["total"]["tasks"] == 0  # stdout stays JSON
    assert stopped.stderr.count("BRG225") == len(list(dags.rglob("*.py")))


def test_progress_bar_on_a_terminal_only(tmp_path):
    dags = tmp_path / "dags"
    dags.mkdir()
    for name in ("a", "b", "c"):
        write_dag(dags / f"{name}.py", name)
    args = [*BRIDGE, "translate", "--no-validate", "-o", str(tmp_path / "out"), str(dags)]
    piped = run(args, tmp_path)
    assert piped.returncode == 0 and "Translating" not in piped.stderr + piped.stdout
    leader, follower = pty.openpty()
    proc = subprocess.Popen(args, stdout=follower, stderr=follower, cwd=tmp_path)
    os.close(follower)
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed: the command is done
            break
        if not chunk:
            break
        seen += chunk
    os.close(leader)
    assert proc.wait(timeout=120) == 0
    assert b"Translating DAG files" in seen and b"out/c: 1 tasks" in seen


def _pid_and_span(seconds: float) -> tuple[int, float, float]:
    start = time.monotonic()
    time.sleep(seconds)
    return os.getpid(), start, time.monotonic()


def test_pool_runs_files_side_by_side_in_file_order():
    done: list[int] = []
    results = run_pool(
        _pid_and_span, [0.5, 0.5, 0.01, 0.01], jobs=2, timeout=30, on_done=done.append
    )
    pids = {pid for pid, _, _ in results}
    assert len(pids) == 2 and os.getpid() not in pids  # two workers, neither this process
    (_, start_a, end_a), (_, start_b, end_b) = results[:2]
    assert start_b < end_a and start_a < end_b  # the first two files ran at the same time
    assert sorted(done) == [0, 1, 2, 3]
    assert available_cores() == len(os.sched_getaffinity(0))


def _misbehave(item: str) -> str:
    if item == "killed":
        os.kill(os.getpid(), signal.SIGKILL)  # as the kernel's out-of-memory killer does
    if item == "crashes":
        faulthandler.disable()  # pytest's would print this process's stack on the way out
        os.kill(os.getpid(), signal.SIGSEGV)
    if item == "raises":
        raise ValueError("a bug")
    if item == "hangs":
        time.sleep(60)
    return item.upper()


def test_pool_reports_dead_hung_and_failing_workers_and_goes_on():
    items = ["a", "killed", "b", "crashes", "raises", "hangs", "c"]
    start = time.monotonic()
    results = run_pool(_misbehave, items, jobs=2, timeout=2)
    assert time.monotonic() - start < 20
    assert results[0::2] == ["A", "B", Stopped("error", "ValueError: a bug"), "C"]
    assert results[1] == Stopped("died", "its worker process was killed (SIGKILL; out of memory?)")
    assert results[3] == Stopped("died", "its worker process died from SIGSEGV")
    assert results[5] == Stopped("timeout", "took longer than 2 s")
    diagnostic = results[5].diagnostic("dags/x.py")
    assert (diagnostic.code, diagnostic.line, diagnostic.severity) == ("BRG225", 0, "error")
    assert results[4].diagnostic("dags/x.py").code == "BRG199"


@pytest.mark.parametrize("jobs", [1, 3])
def test_pool_with_one_worker_or_more_workers_than_files(jobs):
    assert run_pool(str.upper, ["x", "y"], jobs=jobs, timeout=30) == ["X", "Y"]


def test_help_names_the_options():
    done = run([*BRIDGE, "translate", "--help"], ROOT)
    assert "--file-timeout" in done.stdout and "--jobs" in done.stdout
    assert "BRIDGE_FILE_TIMEOUT" in done.stdout
