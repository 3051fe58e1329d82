"""Control-flow operators that need no step of their own."""

from __future__ import annotations

from bridge.parse.model import TaskModel
from bridge.translate.rule_context import RuleContext
from translators.registry import Example, Translation, rule

_EMPTY = "airflow.providers.standard.operators.empty.EmptyOperator"


@rule(
    _EMPTY,
    examples=[
        Example(
            "an EmptyOperator between two tasks is contracted; its neighbours are joined",
            """
from airflow.sdk import DAG
from airflow.operators.dummy_operator import DummyOperator
from airflow.providers.standard.operators.bash import BashOperator
with DAG("d"):
    BashOperator(task_id="a", bash_command="echo a") >> DummyOperator(task_id="join") >> BashOperator(task_id="b", bash_command="echo b")
""",
            {"join": {"fate": "contracted", "fidelity": "exact", "steps": []}},
        )
    ],
)
def empty(task: TaskModel, ctx: RuleContext) -> Translation:
    """EmptyOperator / DummyOperator does nothing: no step; its upstream and downstream tasks are
    connected directly, so every ordering it imposed is kept."""
    return Translation(fate="contracted", fidelity="exact")
