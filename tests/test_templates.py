"""Airflow Jinja templates -> pipeline values (bridge.translate.templates)."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import jinja2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.run.values import follow
from bridge.translate.expressions import ExecVar, Join, Param, StepOutput
from bridge.translate.templates import CONTEXT_PARAMETERS, TemplateResult, translate_template

TASKS = {"extract", "load"}


def tr(text: str) -> TemplateResult:
    return translate_template(text, dag_id="etl", task_id="load", task_ids=TASKS)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("{{ params.table }}", Param("table")),
        ("{{ params['table'] }}", Param("table")),
        ("{{ params.get('table') }}", Param("table")),
        ("{{ params['my-table'] }}", Param("my_table")),
        ("{{ dag_run.conf['table'] }}", Param("table")),
        ("{{ ds }}", Param("ds")),
        ("{{ ds_nodash }}", Param("ds_nodash")),
        ("{{ ts }}", Param("ts")),
        ("{{ ts_nodash }}", Param("ts_nodash")),
        ("{{ logical_date }}", Param("logical_date")),
        ("{{ execution_date }}", Param("logical_date")),
        ("{{ data_interval_start }}", Param("data_interval_start")),
        ("{{ data_interval_end }}", Param("data_interval_end")),
        ("{{ dag_run.logical_date }}", Param("logical_date")),
        ("{{ run_id }}", ExecVar("PIPELINE_EXECUTION_ID")),
        ("{{ dag_run.run_id }}", ExecVar("PIPELINE_EXECUTION_ID")),
        ("{{ dag.dag_id }}", "etl"),
        ("{{ dag_run.dag_id }}", "etl"),
        ("{{ task.task_id }}", "load"),
        ("{{ ti.task_id }}", "load"),
        ("{{ task_instance.task_id }}", "load"),
        ("{{ ti.xcom_pull(task_ids='extract') }}", StepOutput("extract")),
        ("{{ ti.xcom_pull('extract') }}", StepOutput("extract")),
        (
            "{{ task_instance.xcom_pull(task_ids='extract', key='rows') }}",
            StepOutput("extract", "rows"),
        ),
        ("{{ ti.xcom_pull('extract', 'etl', 'rows') }}", StepOutput("extract", "rows")),
        ("{{ ti.xcom_pull(task_ids='extract')['uri'] }}", StepOutput("extract", path=".uri")),
        ("{{ ti.xcom_pull(task_ids='extract').a[0] }}", StepOutput("extract", path=".a[0]")),
        ("{{ var.value.bucket }}", Param("var_bucket")),
        ("{{ var.value['bucket'] }}", Param("var_bucket")),
        ("{{ var.value.get('bucket') }}", Param("var_bucket")),
        ("{{ var.value.get('bucket', 'fallback') }}", Param("var_bucket")),
        ("{{ var.json.settings }}", Param("var_json_settings")),
        ("{{ var.json.settings.region }}", Param("var_json_settings_region")),
        ("{{ conn.warehouse.host }}", Param("conn_warehouse_host")),
        ("{{ conn.warehouse.password }}", Param("conn_warehouse_password")),
        ("{{ conn['my-db'].port }}", Param("conn_my_db_port")),
        ("{{ 'literal' }}", "literal"),
        ("no expressions", "no expressions"),
        ("{# only a comment #}", ""),
        ("{% raw %}{{ ds }}{% endraw %}", "{{ ds }}"),
        ("{{- ds -}}", Param("ds")),
    ],
)
def test_single_values(text: str, value: Any) -> None:
    result = tr(text)
    assert result.problems == []
    assert result.value == value


def test_text_around_expressions_is_a_join() -> None:
    result = tr("s3://bucket/{{ params.table }}/{{ ds }}/{{ run_id }}.csv")
    assert result.problems == []
    assert result.value == Join(
        (
            "s3://bucket/",
            Param("table"),
            "/",
            Param("ds"),
            "/",
            ExecVar("PIPELINE_EXECUTION_ID"),
            ".csv",
        )
    )


def test_literal_expressions_merge_into_the_text() -> None:
    assert tr("{{ dag.dag_id }}-{{ task.task_id }}-x").value == "etl-load-x"
    assert tr("{{ dag.dag_id }}/{{ ds }}").value == Join(("etl/", Param("ds")))


def test_parameters_report_what_fills_them() -> None:
    result = tr(
        "{{ params.table }} {{ ds }} {{ var.value.get('bucket', 'b0') }} {{ conn.db.login }}"
    )
    specs = {name: (s.source, s.default, s.airflow) for name, s in result.parameters.items()}
    assert specs == {
        "table": ("dag_param", "", "{{ params.table }}"),
        "ds": ("context", "", "{{ ds }}"),
        "var_bucket": ("variable", "b0", "{{ var.value.get('bucket', 'b0') }}"),
        "conn_db_login": ("connection", "", "{{ conn.db.login }}"),
    }
    assert result.parameters["ds"] == CONTEXT_PARAMETERS["ds"]


def test_context_parameters_are_strings_defaulting_to_empty() -> None:
    for name, spec in CONTEXT_PARAMETERS.items():
        assert (spec.name, spec.type, spec.default, spec.source) == (name, "String", "", "context")
        base, _, case = name.rpartition("_")
        if case in ("lower", "upper"):  # `ts_nodash | lower` has a parameter of its own
            assert spec.airflow == f"{{{{ {base} | {case} }}}}"
        else:
            assert spec.airflow == f"{{{{ {name} }}}}"


def test_conf_get_default_is_typed() -> None:
    spec = tr("{{ dag_run.conf.get('limit', 10) }}").parameters["limit"]
    assert (spec.type, spec.default, spec.airflow) == (
        "Integer",
        10,
        "{{ dag_run.conf.get('limit', 10) }}",
    )


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("{{ ds | replace('-', '') }}", "`| replace` filter"),
        ("{{ macros.ds_add(ds, 7) }}", "macro `macros.ds_add(ds, 7)`"),
        ("{{ macros.datetime.now() }}", "macro"),
        ("{% if params.x %}a{% endif %}", "`{% if %}` statement"),
        ("{% for t in params.tables %}{{ t }}{% endfor %}", "`{% for %}` statement"),
        ("{% set x = 1 %}", "`{% set %}` statement"),
        ("{{ params.n + 1 }}", "`params.n + 1`"),
        ("{{ 'a' ~ ds }}", "operator"),
        ("{{ ds if params.x else ts }}", "conditional"),
        ("{{ unknown_thing }}", "`unknown_thing`"),
        ("{{ next_ds }}", "removed in Airflow 3"),
        ("{{ prev_ds_nodash }}", "removed in Airflow 3"),
        ("{{ logical_date.strftime('%Y') }}", "`logical_date.strftime('%Y')`"),
        ("{{ params.cfg.key }}", "params.cfg.key"),
        ("{{ params[name] }}", "not a literal"),
        ("{{ ti.xcom_pull(task_ids='nope') }}", "no task `nope`"),
        ("{{ ti.xcom_pull(task_ids=['extract', 'load']) }}", "one task"),
        ("{{ ti.xcom_pull() }}", "one task"),
        ("{{ ti.xcom_pull(task_ids=upstream) }}", "not all literals"),
        ("{{ ti.xcom_pull(task_ids='extract', dag_id='other') }}", "another DAG"),
        ("{{ ti.xcom_pull(task_ids='extract', include_prior_dates=True) }}", "only task_ids"),
        ("{{ ti.xcom_pull(task_ids='extract')[params.k] }}", "not a literal"),
        ("{{ ti.try_number }}", "ti.try_number"),
        ("{{ var.value }}", "not a variable lookup"),
        ("{{ var.value.x.y }}", "var.value.x.y"),
        ("{{ conn.db.extra_dejson.k }}", "conn.<id>.<field>"),
        ("{{ conn.db }}", "conn.<id>.<field>"),
        ("{{ dag.owner }}", "dag.dag_id"),
        ("{{ ds", "not valid Jinja"),
        ("{% if %}", "not valid Jinja"),
        ("{% endfor %}", "not valid Jinja"),
    ],
)
def test_problems_keep_the_text(text: str, words: str) -> None:
    result = tr(text)
    assert result.value == text
    assert result.parameters == {}
    assert result.problems and all(repr(text) in p for p in result.problems)
    assert any(words in p for p in result.problems), result.problems


def test_one_bad_part_keeps_the_whole_text() -> None:
    text = "{{ ds }}/{{ ds | title }}/{{ params.x }}"
    result = tr(text)
    assert (result.value, result.parameters) == (text, {})
    assert len(result.problems) == 1


def test_long_templates_are_shortened_in_messages() -> None:
    text = "echo " + "x" * 500 + " {{ ds | title }}"
    (problem,) = tr(text).problems
    assert len(problem) < 300 and "…" in problem


# --- oracle: Airflow's own rendering ------------------------------------------------------------
#
# Render each template with Jinja in a fake Airflow context, and evaluate the translated value in
# the same context, filling each parameter the way the Airflow operator will (rendering its
# `airflow` expression). Both must give the same text.


class VarValue(dict):
    """`var.value` in Airflow: attribute access plus `.get(name, default)`."""

    def __getattr__(self, name: str) -> Any:
        return self[name]


XCOMS = {("extract", "return_value"): {"uri": "s3://b/k", "a": [7]}, ("extract", "rows"): 12}
CONTEXT = {
    "params": {"table": "sales", "my-table": "t2", "limit": 5},
    "ds": "2024-01-02",
    "ds_nodash": "20240102",
    "ts": "2024-01-02T00:00:00+00:00",
    "ts_nodash": "20240102T000000",
    "ts_nodash_with_tz": "20240102T000000+0000",
    "logical_date": "2024-01-02 00:00:00+00:00",
    "data_interval_start": "2024-01-01 00:00:00+00:00",
    "data_interval_end": "2024-01-02 00:00:00+00:00",
    "run_id": "scheduled__2024-01-02",
    "dag": SimpleNamespace(dag_id="etl"),
    "task": SimpleNamespace(task_id="load"),
    "var": SimpleNamespace(
        value=VarValue(bucket="my-bucket"), json={"settings": {"region": "eu-west-1", "n": 2}}
    ),
    "conn": {"warehouse": SimpleNamespace(host="db.local", port=5432, password="s3cret")},
}


def _xcom_pull(task_ids=None, dag_id=None, key="return_value", **_: Any) -> Any:
    return XCOMS[(task_ids, key)]


CONTEXT["ti"] = CONTEXT["task_instance"] = SimpleNamespace(
    task_id="load", dag_id="etl", run_id=CONTEXT["run_id"], xcom_pull=_xcom_pull
)
CONTEXT["dag_run"] = SimpleNamespace(
    run_id=CONTEXT["run_id"], dag_id="etl", conf={"table": "sales"}, logical_date="2024-01-02"
)
ENV = jinja2.Environment(extensions=["jinja2.ext.do"], undefined=jinja2.StrictUndefined)


def render(text: str) -> str:
    return ENV.from_string(text).render(CONTEXT)


def evaluate(value: Any, result: TemplateResult) -> str:
    """The translated value at run time, parameters filled as the Airflow operator will."""
    if isinstance(value, Join):
        return "".join(evaluate(p, result) for p in value.parts)
    if isinstance(value, Param):
        return render(result.parameters[value.name].airflow)
    if isinstance(value, ExecVar):
        return CONTEXT["run_id"]  # the bridge maps the Airflow run to the pipeline execution
    if isinstance(value, StepOutput):
        data = XCOMS[(value.task_id, value.key)]
        return str(follow(data, value.path.removeprefix(".")) if value.path else data)
    return str(value)


ORACLE_TEMPLATES = [
    "s3://{{ var.value.bucket }}/{{ params.table }}/{{ ds }}/data.csv",
    "{{ params['my-table'] }}-{{ ds_nodash }}-{{ ts_nodash }}",
    "s3://bucket-{{ ts_nodash | lower }}/{{ ds | upper }}/{{ 'AbC' | lower }}",
    "{{ ts }} {{ logical_date }} {{ data_interval_start }} {{ data_interval_end }}",
    "{{ run_id }}:{{ dag_run.run_id }}:{{ dag.dag_id }}:{{ task.task_id }}:{{ ti.task_id }}",
    "rows={{ ti.xcom_pull(task_ids='extract', key='rows') }}",
    "{{ task_instance.xcom_pull('extract')['uri'] }} {{ ti.xcom_pull('extract').a[0] }}",
    "{{ var.json.settings.region }} {{ var.value.get('missing', 'dflt') }}",
    "{{ conn.warehouse.host }}:{{ conn.warehouse.port }}",
    "{{ dag_run.conf['table'] }} {{ params.get('limit') }}",
    "{{- ds }}  \n{{ 'x' }} {# comment #}{% raw %}{{ keep }}{% endraw %}\n",
]


@pytest.mark.parametrize("text", ORACLE_TEMPLATES)
def test_translation_renders_like_airflow(text: str) -> None:
    result = tr(text)
    assert result.problems == []
    assert isinstance(result.value, (Join, Param, ExecVar, StepOutput))  # something to evaluate
    assert evaluate(result.value, result) == render(text)


# --- never an exception --------------------------------------------------------------------------

FRAGMENTS = st.sampled_from(
    ["{{", "}}", "{%", "%}", "{#", "#}", " ds ", "params.", "x", "|", "(", ")", "'", "[", "]", "\n"]
)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.one_of(FRAGMENTS, st.text(max_size=5)), max_size=12).map("".join))
def test_any_text_gives_a_result_not_an_exception(text: str) -> None:
    result = tr(text)
    if result.problems:
        assert result.value == text
    json.dumps([str(result.value), list(result.parameters)])


def test_param_default_is_kept_in_what_fills_it() -> None:
    spec = tr("{{ params.get('mode', 'fast') }}").parameters["mode"]
    assert (spec.type, spec.default, spec.airflow) == (
        "String",
        "fast",
        "{{ params.get('mode', 'fast') }}",
    )


def test_deep_nesting_is_a_problem_not_a_crash() -> None:
    text = "{{ x" + ".a" * 5000 + " }}"
    result = tr(text)
    assert result.value == text and "nested too deeply" in result.problems[0]
