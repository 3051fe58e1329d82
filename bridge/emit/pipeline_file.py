"""pipeline.py: the template templates/pipeline.py.j2 filled with the pipeline's settings and
steps (pipeline_body.py). Every value from the DAG arrives quoted for Python (bridge.quoting);
the template adds no value of its own. pipeline_support.py, the code every translated pipeline
shares, is copied next to it unchanged.
"""

from __future__ import annotations

import json
from pathlib import Path

from bridge import quoting
from bridge.config import BridgeConfig
from bridge.emit.images import image_constants
from bridge.emit.pipeline_body import render_steps
from bridge.emit.step_arguments import ArgumentPlan
from bridge.parse.model import DagModel
from bridge.translate.pipeline_model import PipelineModel

TEMPLATES = Path(__file__).parent / "templates"
SUPPORT_FILE = "pipeline_support.py"
_PARAM_CLASSES = {
    "String": "ParameterString",
    "Integer": "ParameterInteger",
    "Float": "ParameterFloat",
    "Boolean": "ParameterBoolean",
}
_py = quoting.py_literal


def support_source() -> str:
    return (TEMPLATES / SUPPORT_FILE).read_text(encoding="utf-8")


def pipeline_source(
    pipeline: PipelineModel,
    dag: DagModel,
    config: BridgeConfig,
    source_path: str,
    arguments: ArgumentPlan,
) -> str:
    import jinja2

    body = render_steps(pipeline, dag, config, source_path, arguments)
    names = body.names
    names.need(
        "from pipeline_support import cache_config, main, network_config, pipeline_session",
        "from sagemaker.core.workflow.execution_variables import ExecutionVariables",
        "from sagemaker.mlops.workflow import Pipeline, PipelineExperimentConfig",
    )
    parameters = []
    for spec in sorted(pipeline.parameters.values(), key=lambda s: s.name):
        cls = _PARAM_CLASSES[spec.type]
        names.need(f"from sagemaker.core.workflow.parameters import {cls}")
        parameters.append(
            f"{names.param(spec.name)} = {cls}(name={_py(spec.name)}, "
            f"default_value={_py(spec.default)})"
            + (f"  # {quoting.comment(spec.airflow)}" if _worth_saying(spec) else "")
        )
    schedule = pipeline.schedule or {}
    tags = [{"Key": "airflow:dag_id", "Value": dag.dag_id}] + [
        {"Key": k, "Value": v} for k, v in sorted(config.tags.items())
    ]
    uses_jobs = any("jobs." in block for block in body.blocks)
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=False,  # Python source: every value is quoted by bridge.quoting first
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    return environment.get_template("pipeline.py.j2").render(
        about=quoting.docstring(f"`{dag.dag_id}` ({source_path}:{dag.line})"),
        imports="\n".join(sorted(names.imports)),
        pipeline_name=_py(pipeline.name),
        region=_py(config.region),
        role=_py(config.role),
        scheduler_role=_py(config.scheduler_role),
        lambda_role=_py(config.lambda_role),
        bucket=_py(config.bucket),
        instance_type=_py(config.instance_type),
        images=image_constants(pipeline, config),
        tags=_py(tags),
        pipeline_tags=_py([{"Key": f"airflow:tag:{t}", "Value": "true"} for t in pipeline.tags]),
        subnets=_py(config.network.subnets),
        security_groups=_py(config.network.security_group_ids),
        isolation=_py(config.network.enable_network_isolation),
        cache=_py(config.cache_expire_after),
        retries=[(name, call, why) for name, (call, why) in sorted(body.retries.items())],
        schedule=_py(schedule.get("kwargs")) if schedule.get("kwargs") else "",
        schedule_comment=quoting.comment(_one_line(dag.schedule)),
        max_parallel=_py(pipeline.max_parallel),
        functions=sorted(names.functions.items()),
        folders=sorted(names.folders.items()),
        jobs=uses_jobs,
        parameters=parameters,
        table=body.table,
        body=[_indent(block) for block in body.blocks],
        parameter_vars=", ".join(
            names.param(s.name) for s in sorted(pipeline.parameters.values(), key=lambda s: s.name)
        ),
        step_vars=", ".join(body.top_level),
    )


def _worth_saying(spec) -> bool:
    """A parameter's Airflow source, unless it is just the DAG param of the same name."""
    return bool(spec.airflow) and spec.airflow.replace(" ", "") != f"{{{{params.{spec.name}}}}}"


def _one_line(value) -> str:
    return json.dumps(value, default=str).replace("\n", " ")[:120]


def _indent(text: str) -> str:
    return "\n".join(("    " + line) if line.strip() else "" for line in text.splitlines())
