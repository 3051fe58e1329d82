"""Callable extraction (issue 3, in progress): the extracted module runs alone and gives the same result."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time

import pytest

from bridge.parse.dag_file import parse_file
from bridge.translate.extract import ExtractError, _index, extract_callable
from tests.conftest import SAMPLE_DAGS

SOURCE = textwrap.dedent("""
    import json, math, statistics as st
    from pathlib import Path
    from airflow.sdk import DAG, task, Variable
    from airflow.providers.standard.operators.python import PythonOperator
    from mylib import helper_from_elsewhere

    DATA_DIR = Path(__file__).parent / "data"
    SCALE = 2.5
    UNUSED = 1

    def _mean(xs):
        return st.mean(xs) * SCALE

    class Model:
        def __init__(self, w):
            self.w = w

    def train(rows, lr=0.1):
        m = Model(_mean(rows))
        return {"w": m.w, "sqrt": math.sqrt(lr), "dir": str(DATA_DIR.name)}

    with DAG("d") as dag:
        @task
        def inner(x):
            return json.dumps(x) + Variable.get("k") + missing_name
        PythonOperator(task_id="t", python_callable=train, op_kwargs={"rows": [1, 2, 3]})
""")


def run_extracted(code: str, call: str, tmp_path) -> object:
    script = tmp_path / "step.py"
    script.write_text(code + f"\nimport json as _j\nprint(_j.dumps({call}))\n")
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_extracted_function_runs_alone(tmp_path):
    e = extract_callable(SOURCE, "train")
    assert "DAG" not in e.code and "PythonOperator" not in e.code and "UNUSED" not in e.code
    assert "from airflow" not in e.code and "mylib" not in e.code
    assert e.airflow_names == [] and e.unresolved == [] and e.uses_file_path
    assert run_extracted(e.code, "train([1, 2, 3])", tmp_path) == {
        "w": 5.0,
        "sqrt": 0.1**0.5,
        "dir": "data",
    }


def test_taskflow_function_loses_its_decorator_and_reports_airflow_use():
    e = extract_callable(SOURCE, "inner")
    assert "@task" not in e.code and "import json" in e.code
    assert e.airflow_names == ["Variable"] and e.unresolved == ["missing_name"]
    assert "from airflow.sdk import Variable" in e.code  # pruned to what it uses


def test_the_modules_future_imports_come_first_and_once():
    source = (
        '"""A DAG."""\n# the team\'s style\nfrom __future__ import annotations, division\n'
        "import json\n\n\ndef f(x: dict | None = None) -> str:\n    return json.dumps(x)\n"
    )
    code = extract_callable(source, "f").code
    assert code.startswith("from __future__ import annotations, division\nimport json\n")
    assert code.count("__future__") == 1 and "the team" not in code
    assert "__future__" not in extract_callable(SOURCE, "train").code  # none in the file


def test_unknown_function():
    with pytest.raises(ExtractError):
        extract_callable(SOURCE, "nope")


@pytest.mark.parametrize(
    "name", ["ml_taskflow_pipeline.py", "ml_classic_operators.py", "dynamic_feature_pipeline.py"]
)
def test_every_sample_callable_extracts_to_valid_python(name):
    path = SAMPLE_DAGS / name
    source = path.read_text()
    (dag,) = parse_file(path).dags
    callables = [
        t.callable for t in dag.tasks.values() if t.callable and t.callable.defined_in_file
    ]
    assert callables
    for ref in callables:
        e = extract_callable(source, ref.name, ref.line)
        compile(e.code, f"{ref.name}.py", "exec")
        assert "with DAG" not in e.code and "@task" not in e.code and e.unresolved == [], (
            ref.name,
            e.unresolved,
        )


# ---- scoping: the extracted module runs alone and gives the original's result ----------------

SCOPES = textwrap.dedent("""
    from __future__ import annotations

    import asyncio
    import functools
    import math as m, os.path, statistics

    SCALE = 3
    K = 10
    OFFSET = 0.5
    LIMIT = 7
    VALUES = [4, 5, 6]
    ITEMS = (1, 2, 3)
    MSG = "bad value"
    POINT = (2, 5)
    COUNTER = 0
    START = 40
    SIZE = "class size"
    size = "module size"
    x = 100
    err = "module err"
    px = 99
    ASYNC_VALUE = 11
    UNUSED_CONSTANT = object()


    def _twice(fn):
        @functools.wraps(fn)
        def wrapper(*args):
            return 2 * fn(*args)

        return wrapper


    @_twice
    def decorated_helper(v):
        return v + OFFSET


    class Shape:
        sides = 4

        def area(self, side):
            return m.pow(side, 2) * SCALE


    def comprehension_targets():
        # `x` is the comprehension's own, not the module's 100
        return [x * 2 for x in range(3)] + [i * SCALE for i in range(3)]


    def lambda_params():
        f = lambda y, k=K: y + k + OFFSET  # noqa: E731
        return f(1)


    def walrus():
        last = None
        seen = [last := v for v in VALUES]
        if (n := LIMIT) > 1:
            return n, last, seen
        return None


    def for_targets():
        total = 0
        for item in ITEMS:
            total += item
        return total


    def except_as():
        try:
            raise ValueError(MSG)
        except ValueError as err:
            return str(err)


    def match_captures():
        match POINT:
            case (px, py):
                return px + py
        return None


    def global_counter():
        global COUNTER
        COUNTER += 1
        return COUNTER


    def nonlocal_counter():
        count = START

        def inc():
            nonlocal count
            count += 1
            return count

        inc()
        return inc()


    def class_body():
        class Box:
            size = SIZE

            def get(self):
                return size  # the module's: class names are not visible in methods

        return Box.size, Box().get()


    def helpers_and_classes(rows=ITEMS) -> dict:
        return {
            "mean": statistics.mean(rows),
            "area": Shape().area(2),
            "deco": decorated_helper(1),
            "dir": os.path.basename("/a/b"),
        }


    async def fetch():
        await asyncio.sleep(0)
        return ASYNC_VALUE


    def enclosing(threshold=1):
        factor = SCALE * 2 + LATE
        label = "built in the enclosing function"

        def inner_helper(v):
            return v * factor

        def task_fn(value):
            return inner_helper(value) + factor, label

        return task_fn


    LATE = 1  # defined after the function whose body reads it
""")

SCOPE_CASES = {
    "comprehension_targets": ("comprehension_targets()", ["x = 100", "import math"]),
    "lambda_params": ("lambda_params()", ["SCALE", "y ="]),
    "walrus": ("walrus()", ["SCALE", "ITEMS"]),
    "for_targets": ("for_targets()", ["item =", "VALUES"]),
    "except_as": ("except_as()", ["err = ", "POINT"]),
    "match_captures": ("match_captures()", ["px = 99", "ITEMS"]),
    "global_counter": ("global_counter()", ["START"]),
    "nonlocal_counter": ("nonlocal_counter()", ["COUNTER"]),
    "class_body": ("class_body()", ["x = 100"]),
    "helpers_and_classes": ("helpers_and_classes()", ["UNUSED_CONSTANT", "import asyncio"]),
    "fetch": ("asyncio.run(fetch())", ["SCALE"]),
}


def _run(code: str, call: str) -> object:
    namespace: dict = {"__name__": "extracted"}
    exec(compile(code, "<extracted>", "exec"), namespace)
    return eval(call, namespace)


@pytest.mark.parametrize("name", sorted(SCOPE_CASES))
def test_scoping_rules_match_python(name):
    call, absent = SCOPE_CASES[name]
    e = extract_callable(SCOPES, name)
    assert e.unresolved == [] and e.airflow_names == [] and not e.uses_file_path
    assert e.code.startswith("from __future__ import annotations\n")
    for text in absent:
        assert text not in e.code, (name, text)
    assert _run(e.code, call) == _run(SCOPES, call)


def test_scoping_copies_what_is_reached_and_keeps_helper_decorators():
    e = extract_callable(SCOPES, "helpers_and_classes")
    assert "@_twice" in e.code and "def _twice" in e.code and "class Shape" in e.code
    assert "import math as m, os.path, statistics\n" in e.code and "asyncio" not in e.code
    assert "ITEMS = (1, 2, 3)" in e.code  # a default is evaluated where the function is defined
    class_body = extract_callable(SCOPES, "class_body").code
    assert 'size = "module size"' in class_body and 'SIZE = "class size"' in class_body


def test_a_function_nested_in_a_function_takes_the_enclosing_bindings():
    e = extract_callable(SCOPES, "task_fn")
    assert e.unresolved == []
    assert "factor = SCALE * 2 + LATE" in e.code and "def inner_helper" in e.code
    assert e.code.index("LATE = 1") < e.code.index("factor =")  # the module runs first
    assert "def enclosing" not in e.code and "threshold" not in e.code
    assert _run(e.code, "task_fn(2)") == _run(SCOPES, "enclosing()(2)")
    compile(e.code, "<extracted>", "exec")  # the enclosing body's lines are dedented


def test_methods_tabs_and_blocks_of_an_enclosing_body_extract_to_runnable_code():
    source = (
        "import json\n"
        "class Tools:\n"
        "    LEVEL = 3\n"
        "    def method(self, v=json.dumps):\n"
        "        return v(self.LEVEL)\n"
        "if True:\n"
        "\tdef tabbed(x):\n"
        "\t\tif x:\n"
        "\t\t\treturn json.dumps(x)\n"
        "\t\telse:\n"
        "\t\t\treturn TEXT\n"
        'TEXT = """multi\n'
        '  line"""\n'
        "def dag_fn():\n"
        "  if MODE:\n"
        "    conf = {'a': 1}\n"
        "  else:\n"
        "    conf = {\n"
        "  'b': 2}\n"
        "  def inner(z):\n"
        "    # body comment\n"
        "    return conf, z, TEXT\n"
        "  return inner\n"
        "MODE = False\n"
    )
    calls = {"method": "method(Tools())", "tabbed": "tabbed(0)", "inner": "inner(1)"}
    originals = {"method": "Tools().method()", "tabbed": "tabbed(0)", "inner": "dag_fn()(1)"}
    for name, call in calls.items():
        e = extract_callable(source, name)
        assert e.unresolved == [], name
        namespace = {"Tools": type("Tools", (), {"LEVEL": 3})}
        exec(compile(e.code, name, "exec"), namespace)
        assert eval(call, namespace) == _run(source, originals[name]), name
    assert "# body comment" in extract_callable(source, "inner").code


def test_a_parameter_of_the_enclosing_function_is_unresolved():
    source = "def pipeline(threshold=1):\n    def check(v):\n        return v > threshold\n"
    e = extract_callable(source, "check")
    assert e.unresolved == ["threshold"] and "def pipeline" not in e.code


def test_taskflow_body_in_a_dag_function_keeps_comments_drops_decorators():
    source = textwrap.dedent('''
        from airflow.sdk import dag, task, Variable

        @dag(schedule=None)
        def pipeline():
            rate = 2  # set by the team

            @task(retries=2)
            @task.virtualenv
            def work(v):
                """Doc
                    kept as written."""
                # a comment in the body
                return v * rate + len(Variable.get("k"))

            with TaskGroup("g") as group:
                work(1)

        pipeline()
    ''')
    e = extract_callable(source, "work")
    assert "@task" not in e.code and "@dag" not in e.code and "TaskGroup" not in e.code
    assert "# a comment in the body" in e.code and "rate = 2  # set by the team" in e.code
    docstring = '"""Doc\n            kept as written."""'
    assert docstring in source and docstring in e.code  # a string keeps its text
    assert e.airflow_names == ["Variable"] and e.unresolved == []
    assert e.code.startswith("from airflow.sdk import Variable\n")
    compile(e.code, "<extracted>", "exec")


def test_a_name_bound_only_in_dag_construction_is_unresolved():
    source = textwrap.dedent("""
        from airflow.sdk import DAG
        with DAG("d") as dag:
            shared = 3
            def inner():
                return shared, dag
        helper_shared = 1
        def outer():
            return helper_shared + len(str(dag))
    """)
    assert extract_callable(source, "inner").unresolved == ["dag", "shared"]
    e = extract_callable(source, "outer")
    assert e.unresolved == ["dag"] and "with DAG" not in e.code and "helper_shared = 1" in e.code


def test_duplicate_names_are_told_apart_by_line():
    source = textwrap.dedent("""
        A, B = 1, 2
        def first():
            def step():
                return A
            return step
        def second():
            def step():
                return B
            return step
    """)
    assert "return A" in extract_callable(source, "step", 4).code
    assert "return B" in extract_callable(source, "step", 8).code
    assert "A, B = 1, 2" in extract_callable(source, "step", 8).code


def test_file_path_and_module_names():
    source = "import os\n\ndef where():\n    return os.path.dirname(__file__), __name__\n"
    e = extract_callable(source, "where")
    assert e.uses_file_path and e.unresolved == []
    assert not extract_callable("def f():\n    return '__file__'\n", "f").uses_file_path


@pytest.mark.parametrize(
    "source",
    [
        "def f():\n    nonlocal x\n",  # ast accepts, symtable refuses
        "def f(a, a):\n    pass\n",
        "def f(:\n",
        "def f():\n    return 1\x00\n",
        "def f():\n    return " + "(" * 300 + ")" * 300 + "\n",
    ],
)
def test_bad_source_raises_only_extract_error(source):
    with pytest.raises(ExtractError):
        extract_callable(source, "f")


def _module_of(unrelated: int) -> str:
    parts = ["import math", "TARGET_CONST = 3", "def helper(v):\n    return v * TARGET_CONST"]
    parts += [
        f"C_{i} = {i}\ndef f_{i}(a):\n    return math.floor(a + C_{i})" for i in range(unrelated)
    ]
    parts += [f"def target_{k}(x):\n    return helper(x) + math.sqrt({k})" for k in range(20)]
    return "\n\n".join(parts) + "\n"


def _seconds_per_callable(source: str) -> float:
    best = float("inf")
    for _ in range(3):
        _index.cache_clear()
        extract_callable(source, "f_0")  # the file's one-time parse and index
        start = time.perf_counter()
        for k in range(20):
            extract_callable(source, f"target_{k}")
        best = min(best, time.perf_counter() - start)
    return best / 20


def test_per_callable_cost_does_not_grow_with_the_module():
    small, large = _module_of(200), _module_of(2000)
    per_small, per_large = _seconds_per_callable(small), _seconds_per_callable(large)
    assert per_large < 3 * per_small + 2e-4, (per_small, per_large)
    e = extract_callable(large, "target_7")
    assert e.code.count("def ") == 2 and "C_1 " not in e.code
    assert _run(e.code, "target_7(2)") == 6 + 7**0.5


def test_module_level_scopes_are_followed_into_their_reads():
    source = textwrap.dedent("""
        PAIRS = [("a", 1), ("b", 2)]
        SCALE, BIAS = 10, 1
        k = "unrelated"
        TABLE = {k: v * SCALE for k, v in PAIRS}
        pick = lambda t: t["a"] + BIAS; twice = lambda n: 2 * n
        class Holder:
            value = pick(TABLE)
        def read():
            return Holder.value, twice(1)
    """)
    e = extract_callable(source, "read")
    assert e.unresolved == [] and 'k = "unrelated"' not in e.code
    assert _run(e.code, "read()") == _run(source, "read()") == (11, 2)


def test_airflow_names_bound_in_blocks_count_unless_only_for_type_checking():
    source = textwrap.dedent("""
        from typing import TYPE_CHECKING
        try:
            from airflow.sdk import Variable
        except ImportError:
            from airflow.models import Variable
        if TYPE_CHECKING:
            from airflow.models import TaskInstance
        def f(ti: TaskInstance):
            return Variable.get("x")
    """)
    e = extract_callable(source, "f")
    assert e.airflow_names == ["Variable"] and e.unresolved == []
    assert "from typing import TYPE_CHECKING" in e.code and "except ImportError" in e.code
