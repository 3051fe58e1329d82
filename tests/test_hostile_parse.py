"""Hostile or careless DAG files cannot crash, hang or exhaust the parser.

One regression test per defect found: each file gets a coded diagnostic (or parses as it should),
quickly and in bounded memory, and the files after it in a run are still parsed. Big inputs are
generated here rather than committed. Runs that could hang are given a deadline by
`finishes_within`, so a regression fails the test instead of stalling the suite.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bridge.cli import app
from bridge.parse.dag_file import MAX_FILE_BYTES, parse_file, parse_source
from bridge.parse.worker import Budget, ParsePool, parse_file_budgeted, parse_files

HEADER = (
    "from airflow.sdk import DAG\n"
    "from airflow.providers.standard.operators.empty import EmptyOperator\n"
)
SIMPLE_DAG = HEADER + "with DAG('after'):\n    EmptyOperator(task_id='t')\n"
# A budget well above what these small files need, so that a blow-up shows as BRG118/BRG119.
TIGHT = Budget(seconds=30, memory_mb=512)


def codes(result) -> list[str]:
    return [d.code for d in result.diagnostics]


def finishes_within(seconds: float, fn, *args):
    """fn(*args) on a thread; fails the test (instead of hanging it) past the deadline."""
    box: dict = {}

    def run() -> None:
        try:
            box["value"] = fn(*args)
        except BaseException as exc:  # re-raised below, on the test's thread
            box["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s"
    if "error" in box:
        raise box["error"]
    return box["value"]


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


# ---- nesting: CPython checks first, libcst never sees what would crash it --------------------


def test_parentheses_2000_deep_are_a_syntax_error_not_a_segfault(tmp_path):
    deep = write(tmp_path, "deep.py", "x = " + "(" * 2000 + "1" + ")" * 2000 + "\n")
    after = write(tmp_path, "after.py", SIMPLE_DAG)
    # Through the worker: if libcst were reached, this would be BRG120 (a crash), not BRG100.
    first, second = finishes_within(60, parse_files, [deep, after], TIGHT)
    assert codes(first) == ["BRG100"]
    assert first.diagnostics[0].line == 1
    assert "nested parentheses" in first.diagnostics[0].message
    assert [d.dag_id for d in second.dags] == ["after"]
    assert codes(parse_file(deep)) == ["BRG100"]  # in process too: CPython refuses it first


def test_deep_nesting_without_brackets_is_refused_with_its_line():
    result = parse_source("x = 1\ny = " + "not " * 1000 + "x\n" + SIMPLE_DAG)
    assert codes(result) == ["BRG121"]
    assert result.diagnostics[0].line == 2
    assert result.has_errors


def test_nesting_beyond_pythons_own_parser_is_refused():
    result = finishes_within(60, parse_source, "x = " + "-" * 100_000 + "1\n")
    assert codes(result) == ["BRG121"]


# ---- the static evaluator's size caps ------------------------------------------------------


def test_doubling_a_string_sixty_times_is_capped(tmp_path):
    source = "s = 'ab'\n" + "s = s + s\n" * 60 + SIMPLE_DAG
    started = time.perf_counter()
    result = finishes_within(60, parse_file_budgeted, write(tmp_path, "d.py", source), TIGHT)
    assert time.perf_counter() - started < 30
    assert "BRG119" not in codes(result) and "BRG118" not in codes(result)
    assert codes(result).count("BRG111") == 1  # once per file
    assert [d.dag_id for d in result.dags] == ["after"]


@pytest.mark.parametrize(
    "expr",
    [
        "400_000_000 * 'a'",
        "'a' * 400_000_000",
        "[0] * 10**9",
        "'ab' * 10**6 * 10**6",
        "1 << 10**9",
        "10 ** 10 ** 10",
        "'%0999999999d' % 1",
        "'{:999999999}'.format(1)",
        "f'{1:999999999}'",
        "'a'.center(10**9)",
        "','.join(['x' * 100_000] * 100_000)",
        "str([[[0] * 1000] * 1000] * 1000)",
        "sum([[1]] * 1_000_000, [])",
    ],
)
def test_operations_that_grow_a_value_are_capped(expr):
    source = f"x = {expr}\n" + HEADER + "with DAG('d'):\n    EmptyOperator(task_id='t', doc=x)\n"
    started = time.perf_counter()
    result = finishes_within(60, parse_source, source)
    assert time.perf_counter() - started < 20
    (dag,) = result.dags
    assert dag.tasks["t"].kwargs["doc"].kind != "literal"  # unknown, kept as source text
    assert not result.has_errors


@pytest.mark.parametrize(
    "grow",
    [
        "s = f'{s}{s}'",
        "s = '%s%s' % (s, s)",
        "s = '{}{}'.format(s, s)",
        "s = s.replace('a', 'aa')",
        "s = os.path.join(s, s)",
        "x.extend(x)",
        "x += x",
        "x = [*x, *x]",
        "x = x * 2",
    ],
)
def test_repeated_growth_stops_at_the_cap(grow):
    source = "import os\ns = 'ab'\nx = [1, 2]\n" + f"{grow}\n" * 64 + SIMPLE_DAG
    result = finishes_within(60, parse_source, source)
    assert "BRG111" in codes(result)
    assert [d.dag_id for d in result.dags] == ["after"]


def test_values_below_the_caps_are_still_computed():
    result = parse_source(
        HEADER + "n = 'ab' * 1000 + 'c'\nparts = ['x'] * 3\nwith DAG('d'):\n"
        "    EmptyOperator(task_id=f'{len(n)}_{\"-\".join(parts)}_{2 ** 64 % 1000}')\n"
    )
    assert list(result.dags[0].tasks) == ["2001_x-x-x_616"]
    assert not result.diagnostics


def test_comprehensions_count_towards_the_step_budget(monkeypatch):
    import bridge.parse.interpreter

    monkeypatch.setattr(bridge.parse.interpreter, "MAX_STEPS", 20_000)
    result = finishes_within(
        60, parse_source, "x = [0 for a in range(10**6) for b in range(10**6)]\n" + SIMPLE_DAG
    )
    assert "BRG111" in codes(result)


def test_while_true_and_huge_ranges_stay_capped():
    result = finishes_within(
        60,
        parse_source,
        "while True:\n    pass\nfor i in range(10**12):\n    pass\n" + SIMPLE_DAG,
    )
    assert {"BRG110", "BRG105"} <= set(codes(result))
    assert [d.dag_id for d in result.dags] == ["after"]


# ---- long chains: libcst gets them flat, the evaluator walks them in a loop ------------------


def test_a_5000_term_sum_parses_quickly_and_is_evaluated():
    source = "x = " + "+".join(["1"] * 5000) + "\n" + HEADER
    source += "with DAG('d'):\n    EmptyOperator(task_id=str(x))\n"
    started = time.perf_counter()
    result = finishes_within(60, parse_source, source)
    assert time.perf_counter() - started < 20
    assert list(result.dags[0].tasks) == ["5000"]
    assert not result.diagnostics


def test_a_20000_term_sum_parses_within_the_time_budget(tmp_path):
    source = "x = " + "+".join(["1"] * 20_000) + "\n" + SIMPLE_DAG
    result = finishes_within(90, parse_file_budgeted, write(tmp_path, "sum.py", source), TIGHT)
    assert "BRG118" not in codes(result)
    assert [d.dag_id for d in result.dags] == ["after"]


def chain_dag(n: int, joiner: str = " >> ", wrap: bool = False) -> str:
    tasks = "".join(f"    t{i} = EmptyOperator(task_id='t{i}')\n" for i in range(n))
    chain = joiner.join(f"t{i}" for i in range(n))
    return (
        HEADER
        + "with DAG('chain'):\n"
        + tasks
        + f"    {'(' if wrap else ''}{chain}{')' if wrap else ''}\n"
    )


def test_a_3000_link_one_line_chain_keeps_its_dag_and_every_edge():
    result = finishes_within(120, parse_source, chain_dag(3000))
    (dag,) = result.dags
    assert len(dag.tasks) == 3000
    assert sorted(dag.edge_pairs()) == sorted([f"t{i}", f"t{i + 1}"] for i in range(2999))
    assert not result.diagnostics


def test_a_multi_line_chain_with_comments_keeps_every_edge():
    result = parse_source(chain_dag(400, joiner="  # a comment\n     >> ", wrap=True))
    (dag,) = result.dags
    assert len(dag.edges) == 399 and not result.diagnostics


def test_mixed_shift_chain_matches_airflow_semantics():
    # `a << b` makes b upstream of a; the chain is evaluated left to right, link by link.
    joiner = [" >> ", " << "]
    n = 300
    tasks = "".join(f"    t{i} = EmptyOperator(task_id='t{i}')\n" for i in range(n))
    chain = "t0" + "".join(f"{joiner[i % 2]}t{i}" for i in range(1, n))
    (dag,) = parse_source(HEADER + "with DAG('c'):\n" + tasks + f"    {chain}\n").dags
    expected = sorted(
        [f"t{i}", f"t{i - 1}"] if i % 2 == 1 else [f"t{i - 1}", f"t{i}"] for i in range(1, n)
    )
    assert sorted(dag.edge_pairs()) == expected


def test_long_arithmetic_chain_value_matches_python():
    terms = [str((i * 7919) % 97 + 1) for i in range(600)]
    ops = ["+", "-", "*", "//", "%"]
    expr = terms[0] + "".join(f" {ops[i % 2]} {t}" for i, t in enumerate(terms[1:]))
    expected = eval(expr)  # the test's own arithmetic, not a DAG file
    result = parse_source(
        f"x = {expr}\n" + HEADER + "with DAG('d'):\n    EmptyOperator(task_id=str(x))\n"
    )
    assert list(result.dags[0].tasks) == [str(expected)]


def test_source_text_of_a_flattened_chain_is_the_files_own():
    unknowns = " + ".join(f"os.urandom({i})" for i in range(150))
    source = (
        "import os\n" + HEADER + "with DAG('d'):\n"
        f"    EmptyOperator(task_id='t', doc={unknowns})\n"
        "    x = EmptyOperator(task_id='x')\n"
        "    x >> " + " >> ".join(["x"] * 120) + " >> missing\n"
    )
    result = parse_source(source)
    (dag,) = result.dags
    doc = dag.tasks["t"].kwargs["doc"]
    assert doc.source == unknowns
    assert all("__bridge_chain" not in d.message for d in result.diagnostics)
    assert "BRG104" in codes(result)


# ---- files that are not files ---------------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifo_and_symlink_to_dev_zero_are_skipped_without_hanging(tmp_path):
    os.mkfifo(tmp_path / "a_pipe.py")
    (tmp_path / "b_zero.py").symlink_to("/dev/zero")
    good = write(tmp_path, "c_good.py", SIMPLE_DAG)
    files = [tmp_path / "a_pipe.py", tmp_path / "b_zero.py", good]
    in_process = finishes_within(30, lambda: [parse_file(f) for f in files])
    budgeted = finishes_within(30, parse_files, files, TIGHT)
    for results in (in_process, budgeted):
        assert codes(results[0]) == ["BRG116"] and "FIFO" in results[0].diagnostics[0].message
        assert codes(results[1]) == ["BRG116"] and "device" in results[1].diagnostics[0].message
        assert [d.dag_id for d in results[2].dags] == ["after"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_graph_and_translate_of_a_folder_with_a_fifo_finish(tmp_path):
    dags = tmp_path / "dags"
    dags.mkdir()
    os.mkfifo(dags / "x.py")
    (dags / "zero.py").symlink_to("/dev/zero")
    write(dags, "good.py", SIMPLE_DAG)
    runner = CliRunner()
    graph = finishes_within(60, runner.invoke, app, ["graph", str(dags), "--format", "json"])
    files = {Path(f["path"]).name: f for f in json.loads(graph.stdout)["files"]}
    assert [d["code"] for d in files["x.py"]["diagnostics"]] == ["BRG116"]
    assert [d["code"] for d in files["zero.py"]["diagnostics"]] == ["BRG116"]
    assert files["good.py"]["dags"][0]["dag_id"] == "after"
    args = ["translate", str(dags), "-o", str(tmp_path / "out"), "--no-validate"]
    translated = finishes_within(120, runner.invoke, app, args)
    assert translated.exception is None or isinstance(translated.exception, SystemExit)
    assert (tmp_path / "out" / "after").is_dir()


def test_a_file_over_the_size_cap_is_not_read(tmp_path):
    big = tmp_path / "big.py"
    with big.open("wb") as f:
        f.truncate(MAX_FILE_BYTES + 1)  # sparse: nothing is written
    result = finishes_within(30, parse_file, big)
    assert codes(result) == ["BRG117"]


# ---- encodings ------------------------------------------------------------------------------


def test_latin1_file_with_a_coding_declaration_parses(tmp_path):
    path = tmp_path / "latin.py"
    path.write_bytes(
        (
            "# -*- coding: latin-1 -*-\n"
            + HEADER
            + "with DAG('caf\xe9_dag'):\n    EmptyOperator(task_id='t', doc='na\xefve')\n"
        ).encode("latin-1")
    )
    for result in (parse_file(path), parse_file_budgeted(path, TIGHT)):
        assert not result.diagnostics
        (dag,) = result.dags
        assert dag.dag_id == "caf\xe9_dag"
        assert dag.tasks["t"].kwargs["doc"].value == "na\xefve"


def test_undeclared_or_unknown_encodings_are_still_refused(tmp_path):
    (tmp_path / "plain.py").write_bytes("x = 'caf\xe9'\n".encode("latin-1"))
    (tmp_path / "bogus.py").write_bytes(b"# coding: no-such-codec\nx = 1\n")
    assert codes(parse_file(tmp_path / "plain.py")) == ["BRG101"]
    assert codes(parse_file(tmp_path / "bogus.py")) == ["BRG101"]


# ---- ids Airflow refuses ----------------------------------------------------------------


@pytest.mark.parametrize(
    "dag_id, task_id",
    [("d" * 300, "t"), ("a\\x00b", "t"), ("d", "t" * 300), ("d", "a\\x00b"), ("d", "a b")],
)
def test_ids_airflow_refuses_get_a_clear_diagnostic(dag_id, task_id):
    result = parse_source(
        HEADER + f"with DAG('{dag_id}'):\n    EmptyOperator(task_id='{task_id}')\n"
    )
    assert codes(result) == ["BRG115"]
    assert "Airflow refuses" in result.diagnostics[0].message
    assert "\x00" not in result.diagnostics[0].message
    assert len(result.diagnostics[0].message) < 200
    (dag,) = result.dags  # kept, so the rest of the file is still seen
    assert len(dag.tasks) == 1


def test_valid_ids_are_not_reported():
    result = parse_source(
        HEADER + "from airflow.sdk import TaskGroup\n"
        "with DAG('ok.id-1_\xe9'):\n    with TaskGroup('g-1'):\n"
        "        EmptyOperator(task_id='t.x-2_' + 'y' * 200)\n"
    )
    assert not result.diagnostics


# ---- the per-file budget and the worker ---------------------------------------------------


def test_a_file_over_the_time_budget_is_stopped_and_the_next_is_parsed(tmp_path):
    slow = write(tmp_path, "a_slow.py", "x = 0\nfor i in range(900000):\n    x += 1\n")
    after = write(tmp_path, "b_after.py", SIMPLE_DAG)
    started = time.perf_counter()
    first, second = finishes_within(60, parse_files, [slow, after], Budget(seconds=1))
    assert time.perf_counter() - started < 20
    assert codes(first) == ["BRG118"] and first.has_errors
    assert [d.dag_id for d in second.dags] == ["after"]


def test_a_file_over_the_memory_budget_is_stopped_and_the_next_is_parsed(tmp_path):
    tasks = "".join(f"    EmptyOperator(task_id='t{i}', doc='{i}' * 50)\n" for i in range(5000))
    big = write(tmp_path, "a_big.py", HEADER + "with DAG('big'):\n" + tasks)
    after = write(tmp_path, "b_after.py", SIMPLE_DAG)
    first, second = finishes_within(120, parse_files, [big, after], Budget(memory_mb=40))
    assert codes(first) == ["BRG119"]
    assert [d.dag_id for d in second.dags] == ["after"]


def test_a_crashing_worker_is_a_diagnostic_and_the_run_goes_on(tmp_path, monkeypatch):
    import bridge.parse.worker

    crash = write(tmp_path, "a_crash.py", SIMPLE_DAG)
    after = write(tmp_path, "b_after.py", SIMPLE_DAG)

    def parse_or_crash(path):
        if Path(path).name == "a_crash.py":
            os.kill(os.getpid(), signal.SIGSEGV)
        return parse_file(path)

    monkeypatch.setattr(bridge.parse.worker, "parse_file", parse_or_crash)
    first, second = finishes_within(60, parse_files, [crash, after], TIGHT)
    assert codes(first) == ["BRG120"] and "SIGSEGV" in first.diagnostics[0].message
    assert [d.dag_id for d in second.dags] == ["after"]


def test_worker_results_equal_in_process_results(tmp_path):
    from tests.conftest import SAMPLE_DAGS

    files = sorted(SAMPLE_DAGS.glob("*.py"))
    with ParsePool(TIGHT) as pool:
        budgeted = [pool.parse(f) for f in files]
    assert [r.to_dict() for r in budgeted] == [parse_file(f).to_dict() for f in files]


def test_the_worker_follows_limits_changed_after_it_started(tmp_path, monkeypatch):
    import bridge.parse.interpreter

    path = write(tmp_path, "loop.py", SIMPLE_DAG + "x = 0\nfor i in range(50000):\n    x += 1\n")
    with ParsePool(TIGHT) as pool:
        assert "BRG111" not in codes(pool.parse(path))
        monkeypatch.setattr(bridge.parse.interpreter, "MAX_STEPS", 1000)
        assert "BRG111" in codes(pool.parse(path))
