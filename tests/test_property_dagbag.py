"""Property: for random DAG files (graphs, groups, chains, lists, loops), static == DagBag."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge.parse.live import diff_dags
from tests.conftest import dagbag_summaries, static_summaries

pytestmark = pytest.mark.airflow

HEADER = """from airflow.sdk import DAG, TaskGroup, chain, chain_linear, cross_downstream
from airflow.providers.standard.operators.empty import EmptyOperator
"""


def _ancestry(group: int, parents: dict[int, int]) -> set[int]:
    """The group and every group it is nested in (a task in a nested group is in all of them)."""
    out = set()
    while group >= 0:
        out.add(group)
        group = parents[group]
    return out


@st.composite
def dag_sources(draw) -> str:
    n = draw(st.integers(min_value=1, max_value=12))
    n_groups = draw(st.integers(min_value=0, max_value=3))
    lines = [HEADER, "with DAG('prop', schedule=None):"]
    names = []
    # Tasks: some at top level, some in (possibly nested) groups, some built in a loop.
    group_of = [draw(st.integers(min_value=-1, max_value=n_groups - 1)) for _ in range(n)]
    parents: dict[int, int] = {}
    for g in range(n_groups):
        parent = draw(st.integers(min_value=-1, max_value=g - 1))
        parents[g] = parent
        parent_arg = f", parent_group=g{parent}" if parent >= 0 else ""
        prefix = draw(st.booleans())
        lines.append(f"    g{g} = TaskGroup('grp{g}', prefix_group_id={prefix}{parent_arg})")
    for i in range(n):
        group_arg = f", task_group=g{group_of[i]}" if group_of[i] >= 0 else ""
        lines.append(f"    t{i} = EmptyOperator(task_id='task_{i}'{group_arg})")
        names.append(f"t{i}")
    loop_n = draw(st.integers(min_value=0, max_value=3))
    if loop_n:
        lines.append(
            f"    looped = [EmptyOperator(task_id=f'loop_{{i}}') for i in range({loop_n})]"
        )
        lines.append("    for i, t in enumerate(looped):")
        lines.append(f"        {names[0]} >> t")
        names.append("looped[0]")
    # Dependencies in every form; forward-only by index so the graph stays acyclic.
    for _ in range(draw(st.integers(min_value=0, max_value=10))):
        form = draw(
            st.sampled_from(
                ["rshift", "lshift", "list", "chain", "chain_linear", "cross", "group", "method"]
            )
        )
        i = draw(st.integers(min_value=0, max_value=n - 1))
        j = draw(st.integers(min_value=0, max_value=n - 1))
        k = draw(st.integers(min_value=0, max_value=n - 1))
        a, b, c = sorted({i, j, k}) + [None] * (3 - len({i, j, k}))
        if b is None:
            continue
        if form == "rshift":
            lines.append(f"    t{a} >> t{b}" + (f" >> t{c}" if c is not None else ""))
        elif form == "lshift":
            lines.append(f"    t{b} << t{a}")
        elif form == "list" and c is not None:
            lines.append(f"    t{a} >> [t{b}, t{c}]")
        elif form == "chain":
            lines.append(f"    chain(t{a}, t{b}" + (f", t{c})" if c is not None else ")"))
        elif form == "chain_linear" and c is not None:
            lines.append(f"    chain_linear(t{a}, [t{b}, t{c}])")
        elif form == "cross" and c is not None:
            lines.append(f"    cross_downstream([t{a}], [t{b}, t{c}])")
        elif form == "group" and n_groups:
            g = draw(st.integers(min_value=0, max_value=n_groups - 1))
            members = [x for x in range(n) if g in _ancestry(group_of[x], parents)]
            if members and all(m > a for m in members):
                lines.append(f"    t{a} >> g{g}")
        elif form == "method":
            lines.append(f"    t{a}.set_downstream(t{b})")
    return "\n".join(lines) + "\n"


@st.composite
def taskflow_sources(draw) -> str:
    """TaskFlow calls passing XComArgs, context-manager groups over runs of tasks, labels, f-string ids."""
    n = draw(st.integers(min_value=1, max_value=10))
    # Consecutive runs of tasks share a group; -1 means top level.
    group_of, current, g = [], -1, 0
    for _ in range(n):
        if draw(st.integers(min_value=0, max_value=3)) == 0:
            current = -1 if current >= 0 else g
            g += 1 if current >= 0 else 0
        group_of.append(current)
    lines = [
        "from airflow.sdk import DAG, TaskGroup, Label, task",
        "NAMES = " + repr([f"n{i}" for i in range(n)]),
        "with DAG('prop_tf', schedule=None):",
        "    @task",
        "    def step(*inputs):",
        "        return len(inputs)",
        "    r = {}",
    ]
    open_group = -1
    for i in range(n):
        if group_of[i] != open_group:
            open_group = group_of[i]
            if open_group >= 0:
                lines.append(f"    with TaskGroup('grp{open_group}'):")
        indent = "        " if open_group >= 0 else "    "
        inputs = (
            sorted(
                set(draw(st.lists(st.integers(min_value=0, max_value=max(i - 1, 0)), max_size=2)))
            )
            if i
            else []
        )
        args = ", ".join(f"r[{j}]" for j in inputs)
        reuse = draw(st.booleans())  # same base id twice: Airflow suffixes __1, __2
        tid = "'step'" if reuse else f"f'{{NAMES[{i}]}}_t'"
        lines.append(f"{indent}r[{i}] = step.override(task_id={tid})({args})")
    for _ in range(draw(st.integers(min_value=0, max_value=6))):
        a = draw(st.integers(min_value=0, max_value=n - 1))
        b = draw(st.integers(min_value=0, max_value=n - 1))
        if a >= b:
            continue
        if draw(st.booleans()):
            lines.append(f"    r[{a}] >> Label('l{a}_{b}') >> r[{b}]")
        else:
            lines.append(f"    r[{a}] >> r[{b}]")
    return "\n".join(lines) + "\n"


PROPERTY = settings(
    max_examples=int(os.environ.get("BRIDGE_PROPERTY_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def assert_matches_dagbag(source: str, folder) -> None:
    path = folder / "prop_dag.py"
    path.write_text(source)
    live, errors = dagbag_summaries(path)
    assert not errors, (errors, source)  # the generators only build valid, acyclic DAGs
    assert diff_dags(static_summaries(path), live) == [], source


@PROPERTY
@given(source=dag_sources())
def test_random_dag_files_match_dagbag(source, tmp_path_factory):
    assert_matches_dagbag(source, tmp_path_factory.mktemp("prop"))


@PROPERTY
@given(source=taskflow_sources())
def test_random_taskflow_files_match_dagbag(source, tmp_path_factory):
    assert_matches_dagbag(source, tmp_path_factory.mktemp("prop_tf"))
