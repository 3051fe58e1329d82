"""One test per syntax form. Where the form loads under Airflow 3, DagBag is the oracle."""

from __future__ import annotations

import textwrap

import pytest

from bridge.parse.live import diff_dags
from tests.conftest import dagbag_summaries, static_summaries

HEAD = """
import pendulum
from airflow.sdk import DAG, dag, task, task_group, TaskGroup, Label, chain, chain_linear, cross_downstream, Param, setup, teardown
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.python import PythonOperator, BranchPythonOperator
START = pendulum.datetime(2024, 1, 1, tz="UTC")
"""

FORMS = {
    "with_dag": """
with DAG("d", schedule=None, start_date=START) as d:
    a = EmptyOperator(task_id="a"); b = EmptyOperator(task_id="b"); c = EmptyOperator(task_id="c")
    a >> b << c
""",
    "assigned_dag_kwarg": """
d = DAG(dag_id="d", schedule="@daily", start_date=START, catchup=False)
a = EmptyOperator(task_id="a", dag=d)
b = BashOperator(task_id="b", bash_command="echo {{ ds }}", dag=d)
b.set_upstream(a)
c = EmptyOperator(task_id="c", dag=d)
a.set_downstream([c])
""",
    "dag_decorator_called": """
@dag(schedule=None, start_date=START, params={"n": Param(3, type="integer")})
def pipeline(email: str = "a@b.c"):
    @task
    def extract():
        return 1
    @task
    def load(x, to):
        return x
    load(extract(), email)
pipeline()
""",
    "several_dags_one_file": """
for name in ["alpha", "beta"]:
    with DAG(f"dag_{name}", schedule=None, start_date=START) as d:
        EmptyOperator(task_id=f"start_{name}") >> EmptyOperator(task_id="end")
""",
    "lists_and_lshift": """
with DAG("d", schedule=None, start_date=START):
    a, b, c, e = [EmptyOperator(task_id=x) for x in "abce"]
    [a, b] >> c
    e << [a, b]
    c >> [e]
""",
    "chain_forms": """
with DAG("d", schedule=None, start_date=START):
    t = [EmptyOperator(task_id=f"t{i}") for i in range(8)]
    chain(t[0], [t[1], t[2]], [t[3], t[4]], t[5])
    chain_linear(t[5], [t[6], t[7]])
    cross_downstream([t[1], t[2]], [t[6], t[7]])
""",
    "labels": """
with DAG("d", schedule=None, start_date=START):
    a = EmptyOperator(task_id="a"); b = EmptyOperator(task_id="b"); c = EmptyOperator(task_id="c")
    a >> Label("yes") >> b
    a.set_downstream(c, edge_modifier=Label("no"))
""",
    "labels_across_groups": """
with DAG("d", schedule=None, start_date=START):
    with TaskGroup("g1"):
        x = EmptyOperator(task_id="x"); y = EmptyOperator(task_id="y"); x >> y
    with TaskGroup("g2"):
        p = EmptyOperator(task_id="p"); q = EmptyOperator(task_id="q"); p >> q
    x >> Label("cross") >> q
""",
    "nested_groups_and_prefix": """
with DAG("d", schedule=None, start_date=START):
    start = EmptyOperator(task_id="start")
    with TaskGroup("outer") as outer:
        EmptyOperator(task_id="o1")
        with TaskGroup("inner", prefix_group_id=False) as inner:
            i1 = EmptyOperator(task_id="i1"); i2 = EmptyOperator(task_id="i2")
            with TaskGroup("deep"):
                EmptyOperator(task_id="d1")
            i1 >> i2
    start >> outer >> EmptyOperator(task_id="end")
""",
    "task_group_decorator": """
with DAG("d", schedule=None, start_date=START):
    @task
    def one(): return 1
    @task
    def add(x): return x + 1
    @task_group
    def grp(v):
        return add(add(v))
    @task_group(group_id="named")
    def grp2():
        add.override(task_id="inner")(1)
    r = grp(one())
    r2 = grp(r)
    grp2() >> r2
""",
    "taskflow_data_edges": """
with DAG("d", schedule=None, start_date=START):
    @task(multiple_outputs=True)
    def make(): return {"a": 1, "b": 2}
    @task
    def use(a, b, c=None): return a
    m = make()
    out = use(m["a"], b=m["b"])
    bash = BashOperator(task_id="show", bash_command=out)
    p = PythonOperator(task_id="py", python_callable=print, op_args=[bash.output, {"k": m}])
""",
    "taskflow_id_dedup": """
with DAG("d", schedule=None, start_date=START):
    @task
    def step(i): return i
    prev = step(0)
    for i in range(1, 4):
        prev = step(prev)
    with TaskGroup("g"):
        step(1); step(2)
""",
    "expand_forms": """
with DAG("d", schedule=None, start_date=START):
    @task
    def nums(): return [1, 2, 3]
    @task
    def double(x, factor): return x * factor
    @task
    def total(xs): return sum(xs)
    d = double.partial(factor=2).expand(x=nums())
    total(d)
    b = BashOperator.partial(task_id="echo").expand(bash_command=["echo 1", "echo 2"])
    PythonOperator.partial(task_id="kw", python_callable=print).expand_kwargs(nums().map(lambda x: {"op_args": [x]}))
    b >> total.override(task_id="t2")(d)
""",
    "mapped_task_group": """
with DAG("d", schedule=None, start_date=START):
    @task
    def items(): return [1, 2]
    @task
    def work(x): return x
    @task_group
    def per_item(x):
        work(x) >> EmptyOperator(task_id="after")
    per_item.expand(x=items())
""",
    "loops_over_dict_and_helpers": """
FEATURES = {"price": "mean", "rooms": "median"}

def build(name, agg, upstream):
    t = BashOperator(task_id=f"feat_{name}_{agg}", bash_command="echo %s" % name)
    upstream >> t
    return t

with DAG("d", schedule=None, start_date=START):
    start = EmptyOperator(task_id="start")
    done = [build(k, v, start) for k, v in FEATURES.items()]
    done >> EmptyOperator(task_id="{}_{}".format("all", "done"))
""",
    "task_factory_outside_with": """
def make_dag(dag_id):
    with DAG(dag_id, schedule=None, start_date=START) as d:
        EmptyOperator(task_id="x") >> EmptyOperator(task_id="y")
    return d

first = make_dag("factory_one")
globals()["factory_two"] = make_dag("factory_two")
""",
    "dags_registered_through_globals": """
def make(i):
    d = DAG(f"generated_{i}", schedule=None, start_date=START)
    EmptyOperator(task_id="first", dag=d) >> EmptyOperator(task_id=f"second_{i}", dag=d)
    return d

for i in range(3):
    globals()[f"generated_{i}"] = make(i)
make(99)  # built but never stored: Airflow does not collect it
""",
    "setup_teardown": """
with DAG("d", schedule=None, start_date=START):
    create = BashOperator(task_id="create", bash_command="echo").as_setup()
    work = EmptyOperator(task_id="work")
    delete = BashOperator(task_id="delete", bash_command="echo").as_teardown(setups=create)
    create >> work >> delete
    @setup
    def s(): return 1
    @teardown
    def t(x): pass
    @task
    def w(): pass
    with t(s()):
        w()
""",
    "branch_and_trigger_rules": """
from airflow.sdk import TriggerRule
with DAG("d", schedule=None, start_date=START, default_args={"retries": 2}):
    br = BranchPythonOperator(task_id="br", python_callable=lambda: "a")
    a = EmptyOperator(task_id="a"); b = EmptyOperator(task_id="b", retries=0)
    j = EmptyOperator(task_id="join", trigger_rule=TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS)
    br >> [a, b] >> j
""",
    "constant_folding": """
PREFIX = "etl"
STEPS = ("extract", "transform") + ("load",)
N = len(STEPS) * 2
with DAG(dag_id=PREFIX + "_dag", schedule=None, start_date=START):
    prev = None
    for i, s in enumerate(STEPS):
        t = EmptyOperator(task_id="%s_%02d_%s" % (PREFIX, i, s.upper()))
        if prev is not None:
            prev >> t
        prev = t
    if N > 5:
        EmptyOperator(task_id=f"{PREFIX}_{N}")
""",
}


@pytest.fixture(scope="module")
def forms_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("forms")
    for name, body in FORMS.items():
        (folder / f"form_{name}.py").write_text(HEAD + textwrap.dedent(body))
    return folder


@pytest.mark.airflow
@pytest.mark.parametrize("name", sorted(FORMS))
def test_form_matches_dagbag(name, forms_dir):
    path = forms_dir / f"form_{name}.py"
    live, errors = dagbag_summaries(path)
    assert not errors, errors
    assert live, "the form should define at least one DAG"
    static = static_summaries(path)
    assert diff_dags(static, live) == []
    s_tasks = {t["task_id"]: t for d in static for t in d["tasks"]}
    for d in live:
        for t in d["tasks"]:
            assert s_tasks[t["task_id"]]["group"] == t["group"]
            assert s_tasks[t["task_id"]]["trigger_rule"] == t["trigger_rule"]
            assert s_tasks[t["task_id"]]["retries"] == t["retries"]


LEGACY = """
from datetime import timedelta
from airflow import DAG
from airflow.operators.python_operator import PythonOperator, BranchPythonOperator
from airflow.operators.bash_operator import BashOperator
from airflow.operators.dummy_operator import DummyOperator
from airflow.contrib.operators.sagemaker_training_operator import SageMakerTrainingOperator
from airflow.utils.dates import days_ago

default_args = {"owner": "ml", "retries": 3, "retry_delay": timedelta(minutes=5)}
dag = DAG("legacy", default_args=default_args, schedule_interval="@daily", start_date=days_ago(1))

def fetch(**context):
    return 1

start = DummyOperator(task_id="start", dag=dag)
get = PythonOperator(task_id="fetch", python_callable=fetch, provide_context=True, dag=dag)
train = SageMakerTrainingOperator(task_id="train", config={"TrainingJobName": "x"}, dag=dag)
sh = BashOperator(task_id="sh", bash_command="echo {{ ds }}", dag=dag)
get.set_upstream(start)
train.set_upstream(get)
sh << train
"""


def test_legacy_airflow1_file(parse):
    result = parse(LEGACY)
    (dag,) = result.dags
    assert dag.dag_id == "legacy"
    assert dag.schedule == "@daily"
    assert dag.default_args["retries"] == 3
    assert dag.default_args["retry_delay"] == {"kind": "expr", "source": "timedelta(minutes=5)"}
    ops = {t.task_id: t.operator for t in dag.tasks.values()}
    assert ops == {
        "start": "airflow.providers.standard.operators.empty.EmptyOperator",
        "fetch": "airflow.providers.standard.operators.python.PythonOperator",
        "train": "airflow.providers.amazon.aws.operators.sagemaker.SageMakerTrainingOperator",
        "sh": "airflow.providers.standard.operators.bash.BashOperator",
    }
    assert sorted(dag.edge_pairs()) == [["fetch", "train"], ["start", "fetch"], ["train", "sh"]]
    fetch = dag.tasks["fetch"]
    assert fetch.retries == 3
    assert fetch.callable.name == "fetch" and fetch.callable.line == 13
    assert fetch.kwargs["provide_context"].value is True
    assert dag.tasks["sh"].kwargs["bash_command"].kind == "template"


@pytest.mark.parametrize(
    "imports,expr",
    [
        ("from airflow.operators.python_operator import PythonOperator as P", "P"),
        ("from airflow.operators.python import PythonOperator", "PythonOperator"),
        (
            "from airflow.providers.standard.operators.python import PythonOperator",
            "PythonOperator",
        ),
        ("import airflow.operators.python_operator as po", "po.PythonOperator"),
        ("import airflow.operators.python", "airflow.operators.python.PythonOperator"),
        ("from airflow.operators.python import *", "PythonOperator"),
    ],
)
def test_canonical_python_operator(parse, imports, expr):
    src = f"""{imports}
from airflow import DAG
with DAG("d") as d:
    {expr}(task_id="t", python_callable=print)
"""
    (dag,) = parse(src).dags
    assert dag.tasks["t"].operator == "airflow.providers.standard.operators.python.PythonOperator"


@pytest.mark.parametrize(
    "decorator,operator",
    [
        ("@task", "airflow.sdk.task"),
        ("@task()", "airflow.sdk.task"),
        ("@task.branch", "airflow.sdk.task.branch"),
        ("@task.short_circuit()", "airflow.sdk.task.short_circuit"),
        ("@task.virtualenv(requirements=['x'])", "airflow.sdk.task.virtualenv"),
        ("@task.bash", "airflow.sdk.task.bash"),
    ],
)
def test_taskflow_flavours(parse, decorator, operator):
    src = f"""from airflow.decorators import dag, task
@dag()
def d():
    {decorator}
    def f():
        return 1
    f()
d()
"""
    (dag,) = parse(src).dags
    assert dag.tasks["f"].operator == operator
    assert dag.tasks["f"].flavour == decorator.split("(")[0]


def test_data_edges_are_told_apart(parse):
    src = HEAD + textwrap.dedent(FORMS["taskflow_data_edges"])
    (dag,) = parse(src).dags
    kinds = {(e.upstream, e.downstream): e.kinds for e in dag.edges}
    assert kinds[("make", "use")] == {"data"}
    assert kinds[("use", "show")] == {"data"}
    assert dag.tasks["use"].kwargs["op_kwargs"].value["a"]["kind"] == "xcom"
    assert dag.graph.edges["make", "use"]["kinds"] == {"data"}


def test_kwargs_kinds_and_params(parse):
    src = (
        HEAD
        + """
with DAG("d", params={"lr": Param(0.1, type="number", minimum=0), "name": "x"}, tags=["ml"]) as d:
    BashOperator(task_id="b", bash_command="train --lr {{ params.lr }}", env={"A": "1"}, cwd=SOME_DIR)
"""
    )
    (dag,) = parse(src).dags
    assert dag.params == {
        "lr": {"default": 0.1, "type": "number", "minimum": 0},
        "name": {"default": "x"},
    }
    assert dag.tags == ["ml"]
    kw = dag.tasks["b"].kwargs
    assert kw["bash_command"].kind == "template"
    assert kw["env"].kind == "literal" and kw["env"].value == {"A": "1"}
    assert kw["cwd"].kind == "name" and kw["cwd"].source == "SOME_DIR"


def test_tasks_stored_on_attributes(parse):
    """`tg.a = Operator(...)` then `tg.a >> tg.b` (seen in real DAGs)."""
    result = parse(
        HEAD
        + textwrap.dedent("""
        with DAG("d", schedule=None, start_date=START):
            with TaskGroup("g") as tg:
                tg.a = EmptyOperator(task_id="a")
                tg.b = EmptyOperator(task_id="b")
                tg.a >> tg.b
        """)
    )
    assert result.dags[0].edge_pairs() == [["g.a", "g.b"]]


def test_xcomarg_constructor_from_airflow_top_level(parse):
    result = parse(
        "from airflow import DAG, XComArg\nfrom airflow.decorators import task\n"
        "from airflow.providers.standard.operators.bash import BashOperator\n"
        "with DAG('d'):\n    b = BashOperator(task_id='b', bash_command='echo 1')\n"
        "    @task\n    def use(x): return x\n    use(XComArg(b))\n"
    )
    (dag,) = result.dags
    assert dag.edge_pairs() == [["b", "use"]] and dag.edges[0].kinds == {"data"}


def test_lines_inside_multiline_statements(parse):
    result = parse(
        "from airflow.sdk import DAG, chain\nfrom airflow.providers.standard.operators.empty import EmptyOperator\n"
        "with DAG('d'):\n    chain(\n        EmptyOperator(task_id='a'),\n\n        EmptyOperator(task_id='b'),\n    )\n"
    )
    assert {t.task_id: t.line for t in result.dags[0].tasks.values()} == {"a": 5, "b": 7}


def test_chain_keeps_the_links_an_unknown_element_does_not_touch(parse):
    """The Amazon provider's system tests open every chain() with a task made by an imported
    helper: only that element's link is lost (BRG104), the rest of the chain holds."""
    result = parse(
        "from airflow.sdk import DAG, chain\nfrom helpers import context_task\n"
        "from airflow.providers.standard.operators.empty import EmptyOperator\n"
        "with DAG('d'):\n    ctx = context_task()\n"
        "    chain(ctx, EmptyOperator(task_id='a'), EmptyOperator(task_id='b'), "
        "EmptyOperator(task_id='c'))\n"
    )
    (dag,) = result.dags
    assert dag.edge_pairs() == [["a", "b"], ["b", "c"]]
    (diag,) = [d for d in result.diagnostics if d.code == "BRG104"]
    assert "context_task()" in diag.message and diag.line == 6


def test_the_common_compat_sdk_is_the_sdk(tmp_path):
    """`from airflow.providers.common.compat.sdk import DAG, chain, task` (DAGs that run on
    Airflow 2 and 3, such as the Amazon provider's system tests) gives the graph DagBag loads."""
    from tests.conftest import dagbag_summaries, graph_of, static_summaries

    path = tmp_path / "compat_dag.py"
    path.write_text(
        "from airflow.providers.common.compat.sdk import DAG, chain, task\n"
        "from airflow.providers.common.compat.standard.operators import PythonOperator\n"
        "from airflow.providers.standard.operators.bash import BashOperator\n"
        "with DAG('compat', schedule=None):\n"
        "    @task\n    def make():\n        return 1\n"
        "    py = PythonOperator(task_id='py', python_callable=lambda: 2)\n"
        "    chain(make(), py, BashOperator(task_id='b', bash_command='echo'))\n"
    )
    live, errors = dagbag_summaries(path)
    assert errors == {}
    (static,) = static_summaries(path)
    assert graph_of(static) == graph_of(live[0])
    assert len(static["tasks"]) == 3


def test_astronomer_async_operators_are_the_official_ones(parse):
    """astronomer-providers' deferrable copies (`...Async`) live at the official providers'
    module paths: they translate as the official operator (a step waits either way)."""
    result = parse(
        "from airflow import DAG\n"
        "from astronomer.providers.amazon.aws.sensors.s3 import S3KeySensorAsync\n"
        "from astronomer.providers.amazon.aws.operators import redshift_data\n"
        "with DAG('d'):\n"
        "    S3KeySensorAsync(task_id='wait', bucket_key='s3://b/k')\n"
        "    redshift_data.RedshiftDataOperatorAsync(task_id='q', sql='select 1', database='dev')\n"
    )
    operators = {t.task_id: t.operator for t in result.dags[0].tasks.values()}
    assert operators == {
        "wait": "airflow.providers.amazon.aws.sensors.s3.S3KeySensor",
        "q": "airflow.providers.amazon.aws.operators.redshift_data.RedshiftDataOperator",
    }
