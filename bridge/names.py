"""Canonical names: one Airflow 3 name for every import path an Airflow 1.x, 2.x or 3.x file uses.

Resolution is by dotted prefix: the longest known prefix of a fully-qualified name is replaced by
its Airflow 3 home (a module move, or a class rename when the prefix is a whole class path).
"""

from __future__ import annotations

import re

_STD = "airflow.providers.standard"
_AWS = "airflow.providers.amazon.aws"

# old dotted prefix -> Airflow 3 dotted prefix. Whole-class entries win over module entries.
ALIASES: dict[str, str] = {
    # the SDK's own objects
    "airflow.DAG": "airflow.sdk.DAG",
    "airflow.models.DAG": "airflow.sdk.DAG",
    "airflow.models.dag.DAG": "airflow.sdk.DAG",
    "airflow.sdk.definitions.dag.DAG": "airflow.sdk.DAG",
    "airflow.decorators.dag": "airflow.sdk.dag",
    "airflow.models.dag.dag": "airflow.sdk.dag",
    "airflow.sdk.definitions.dag.dag": "airflow.sdk.dag",
    "airflow.decorators.task_group": "airflow.sdk.task_group",
    "airflow.sdk.definitions.decorators.task_group.task_group": "airflow.sdk.task_group",
    "airflow.decorators.task": "airflow.sdk.task",
    "airflow.sdk.definitions.decorators.task": "airflow.sdk.task",
    "airflow.operators.python.task": "airflow.sdk.task",
    "airflow.decorators.setup": "airflow.sdk.setup",
    "airflow.decorators.teardown": "airflow.sdk.teardown",
    "airflow.utils.task_group.TaskGroup": "airflow.sdk.TaskGroup",
    "airflow.sdk.definitions.taskgroup.TaskGroup": "airflow.sdk.TaskGroup",
    "airflow.utils.edgemodifier.Label": "airflow.sdk.Label",
    "airflow.sdk.definitions.edges.Label": "airflow.sdk.Label",
    "airflow.models.baseoperator.chain": "airflow.sdk.chain",
    "airflow.models.baseoperator.chain_linear": "airflow.sdk.chain_linear",
    "airflow.models.baseoperator.cross_downstream": "airflow.sdk.cross_downstream",
    "airflow.utils.helpers.chain": "airflow.sdk.chain",
    "airflow.utils.helpers.cross_downstream": "airflow.sdk.cross_downstream",
    "airflow.sdk.bases.operator.chain": "airflow.sdk.chain",
    "airflow.sdk.bases.operator.chain_linear": "airflow.sdk.chain_linear",
    "airflow.sdk.bases.operator.cross_downstream": "airflow.sdk.cross_downstream",
    "airflow.models.param.Param": "airflow.sdk.Param",
    "airflow.models.Param": "airflow.sdk.Param",
    "airflow.sdk.definitions.param.Param": "airflow.sdk.Param",
    "airflow.models.xcom_arg.XComArg": "airflow.sdk.XComArg",
    "airflow.models.XComArg": "airflow.sdk.XComArg",
    "airflow.utils.trigger_rule.TriggerRule": "airflow.sdk.TriggerRule",
    "airflow.task.trigger_rule.TriggerRule": "airflow.sdk.TriggerRule",
    "airflow.models.BaseOperator": "airflow.sdk.BaseOperator",
    "airflow.models.baseoperator.BaseOperator": "airflow.sdk.BaseOperator",
    "airflow.sdk.bases.operator.BaseOperator": "airflow.sdk.BaseOperator",
    "airflow.sensors.base.BaseSensorOperator": "airflow.sdk.BaseSensorOperator",
    "airflow.sensors.base_sensor_operator.BaseSensorOperator": "airflow.sdk.BaseSensorOperator",
    "airflow.sdk.bases.sensor.BaseSensorOperator": "airflow.sdk.BaseSensorOperator",
    "airflow.sdk.definitions.asset.decorators.asset": "airflow.sdk.asset",
    # standard operators (1.x "_operator" modules, 2.x core modules)
    "airflow.operators.python_operator": f"{_STD}.operators.python",
    "airflow.operators.python": f"{_STD}.operators.python",
    "airflow.operators.bash_operator": f"{_STD}.operators.bash",
    "airflow.operators.bash": f"{_STD}.operators.bash",
    "airflow.operators.dummy_operator.DummyOperator": f"{_STD}.operators.empty.EmptyOperator",
    "airflow.operators.dummy.DummyOperator": f"{_STD}.operators.empty.EmptyOperator",
    "airflow.operators.dummy.EmptyOperator": f"{_STD}.operators.empty.EmptyOperator",
    "airflow.operators.empty": f"{_STD}.operators.empty",
    "airflow.operators.dagrun_operator": f"{_STD}.operators.trigger_dagrun",
    "airflow.operators.trigger_dagrun": f"{_STD}.operators.trigger_dagrun",
    "airflow.operators.branch_operator": f"{_STD}.operators.branch",
    "airflow.operators.branch": f"{_STD}.operators.branch",
    "airflow.operators.latest_only_operator": f"{_STD}.operators.latest_only",
    "airflow.operators.latest_only": f"{_STD}.operators.latest_only",
    "airflow.operators.datetime": f"{_STD}.operators.datetime",
    "airflow.operators.weekday": f"{_STD}.operators.weekday",
    "airflow.operators.smooth": f"{_STD}.operators.smooth",
    "airflow.operators.email_operator": "airflow.providers.smtp.operators.smtp",
    "airflow.operators.email": "airflow.providers.smtp.operators.smtp",
    "airflow.operators.sql": "airflow.providers.common.sql.operators.sql",
    "airflow.operators.generic_transfer": "airflow.providers.common.sql.operators.generic_transfer",
    "airflow.operators.http_operator.SimpleHttpOperator": "airflow.providers.http.operators.http.HttpOperator",
    "airflow.providers.http.operators.http.SimpleHttpOperator": "airflow.providers.http.operators.http.HttpOperator",
    # standard sensors
    "airflow.sensors.bash": f"{_STD}.sensors.bash",
    "airflow.sensors.date_time_sensor": f"{_STD}.sensors.date_time",
    "airflow.sensors.date_time": f"{_STD}.sensors.date_time",
    "airflow.sensors.external_task_sensor": f"{_STD}.sensors.external_task",
    "airflow.sensors.external_task": f"{_STD}.sensors.external_task",
    "airflow.sensors.filesystem": f"{_STD}.sensors.filesystem",
    "airflow.contrib.sensors.file_sensor.FileSensor": f"{_STD}.sensors.filesystem.FileSensor",
    "airflow.sensors.python": f"{_STD}.sensors.python",
    "airflow.contrib.sensors.python_sensor": f"{_STD}.sensors.python",
    "airflow.sensors.time_sensor": f"{_STD}.sensors.time",
    "airflow.sensors.time_delta_sensor": f"{_STD}.sensors.time_delta",
    "airflow.sensors.time_delta": f"{_STD}.sensors.time_delta",
    "airflow.sensors.weekday": f"{_STD}.sensors.weekday",
    "airflow.sensors.http_sensor": "airflow.providers.http.sensors.http",
    "airflow.sensors.s3_key_sensor.S3KeySensor": f"{_AWS}.sensors.s3.S3KeySensor",
    # Amazon: contrib paths and the provider's own older module names
    "airflow.contrib.operators.sagemaker_training_operator.SageMakerTrainingOperator": f"{_AWS}.operators.sagemaker.SageMakerTrainingOperator",
    "airflow.contrib.operators.sagemaker_tuning_operator.SageMakerTuningOperator": f"{_AWS}.operators.sagemaker.SageMakerTuningOperator",
    "airflow.contrib.operators.sagemaker_transform_operator.SageMakerTransformOperator": f"{_AWS}.operators.sagemaker.SageMakerTransformOperator",
    "airflow.contrib.operators.sagemaker_model_operator.SageMakerModelOperator": f"{_AWS}.operators.sagemaker.SageMakerModelOperator",
    "airflow.contrib.operators.sagemaker_endpoint_operator.SageMakerEndpointOperator": f"{_AWS}.operators.sagemaker.SageMakerEndpointOperator",
    "airflow.contrib.operators.sagemaker_endpoint_config_operator.SageMakerEndpointConfigOperator": f"{_AWS}.operators.sagemaker.SageMakerEndpointConfigOperator",
    "airflow.contrib.operators.emr_add_steps_operator.EmrAddStepsOperator": f"{_AWS}.operators.emr.EmrAddStepsOperator",
    "airflow.contrib.operators.emr_create_job_flow_operator.EmrCreateJobFlowOperator": f"{_AWS}.operators.emr.EmrCreateJobFlowOperator",
    "airflow.contrib.operators.emr_terminate_job_flow_operator.EmrTerminateJobFlowOperator": f"{_AWS}.operators.emr.EmrTerminateJobFlowOperator",
    "airflow.contrib.operators.aws_lambda_operator.AwsLambdaInvokeFunctionOperator": f"{_AWS}.operators.lambda_function.LambdaInvokeFunctionOperator",
    "airflow.contrib.operators.ssh_operator.SSHOperator": "airflow.providers.ssh.operators.ssh.SSHOperator",
    "airflow.contrib.operators.bigquery_operator.BigQueryOperator": "airflow.providers.google.cloud.operators.bigquery.BigQueryExecuteQueryOperator",
    "airflow.contrib.operators.kubernetes_pod_operator.KubernetesPodOperator": "airflow.providers.cncf.kubernetes.operators.pod.KubernetesPodOperator",
    "airflow.providers.cncf.kubernetes.operators.kubernetes_pod.KubernetesPodOperator": "airflow.providers.cncf.kubernetes.operators.pod.KubernetesPodOperator",
    "airflow.contrib.sensors.emr_step_sensor.EmrStepSensor": f"{_AWS}.sensors.emr.EmrStepSensor",
    f"{_AWS}.operators.sagemaker_training": f"{_AWS}.operators.sagemaker",
    f"{_AWS}.operators.sagemaker_processing": f"{_AWS}.operators.sagemaker",
    f"{_AWS}.operators.sagemaker_transform": f"{_AWS}.operators.sagemaker",
    f"{_AWS}.operators.sagemaker_tuning": f"{_AWS}.operators.sagemaker",
    f"{_AWS}.operators.sagemaker_model": f"{_AWS}.operators.sagemaker",
    f"{_AWS}.operators.sagemaker_endpoint": f"{_AWS}.operators.sagemaker",
    f"{_AWS}.operators.sagemaker_endpoint_config": f"{_AWS}.operators.sagemaker",
    f"{_AWS}.operators.sagemaker_base": f"{_AWS}.operators.sagemaker",
    f"{_AWS}.operators.emr_add_steps": f"{_AWS}.operators.emr",
    f"{_AWS}.operators.emr_create_job_flow": f"{_AWS}.operators.emr",
    f"{_AWS}.operators.emr_terminate_job_flow": f"{_AWS}.operators.emr",
    f"{_AWS}.operators.aws_lambda.AwsLambdaInvokeFunctionOperator": f"{_AWS}.operators.lambda_function.LambdaInvokeFunctionOperator",
    f"{_AWS}.operators.lambda_function.AwsLambdaInvokeFunctionOperator": f"{_AWS}.operators.lambda_function.LambdaInvokeFunctionOperator",
    f"{_AWS}.sensors.sagemaker_training": f"{_AWS}.sensors.sagemaker",
    f"{_AWS}.sensors.sagemaker_transform": f"{_AWS}.sensors.sagemaker",
    f"{_AWS}.sensors.sagemaker_tuning": f"{_AWS}.sensors.sagemaker",
    f"{_AWS}.sensors.sagemaker_endpoint": f"{_AWS}.sensors.sagemaker",
}

# Names the SDK exports at `airflow.sdk` (what `from airflow.sdk import *` brings in).
SDK_EXPORTS = {
    "DAG",
    "dag",
    "task",
    "task_group",
    "TaskGroup",
    "Label",
    "chain",
    "chain_linear",
    "cross_downstream",
    "Param",
    "Asset",
    "AssetAlias",
    "BaseOperator",
    "BaseSensorOperator",
    "setup",
    "teardown",
    "XComArg",
    "Variable",
    "Connection",
    "get_current_context",
    "asset",
    "TriggerRule",
    "Context",
    "ObjectStoragePath",
    "Metadata",
    "AssetWatcher",
    "EdgeModifier",
}

# Modules whose public names a `from M import *` can bring in, as far as static parsing cares.
STAR_EXPORTS: dict[str, set[str]] = {
    "airflow.sdk": SDK_EXPORTS,
    "airflow.decorators": {"dag", "task", "task_group", "setup", "teardown"},
    "airflow.models": {"DAG", "BaseOperator", "Param", "XComArg"},
    "airflow": {"DAG"},
    f"{_STD}.operators.python": {
        "PythonOperator",
        "BranchPythonOperator",
        "ShortCircuitOperator",
        "PythonVirtualenvOperator",
        "ExternalPythonOperator",
        "BranchPythonVirtualenvOperator",
        "BranchExternalPythonOperator",
        "get_current_context",
    },
    f"{_STD}.operators.bash": {"BashOperator"},
    f"{_STD}.operators.empty": {"EmptyOperator"},
    "airflow.operators.dummy_operator": {"DummyOperator"},
    "airflow.operators.dummy": {"DummyOperator", "EmptyOperator"},
    "airflow.operators.python_operator": {
        "PythonOperator",
        "BranchPythonOperator",
        "ShortCircuitOperator",
        "PythonVirtualenvOperator",
    },
    "airflow.operators.bash_operator": {"BashOperator"},
}

NOT_OPERATORS = {
    "airflow.sdk.DAG",
    "airflow.sdk.TaskGroup",
    "airflow.sdk.Param",
    "airflow.sdk.Label",
    "airflow.sdk.XComArg",
    "airflow.sdk.Asset",
    "airflow.sdk.TriggerRule",
}
_OPERATOR_MODULE = re.compile(
    r"^airflow\.(?:providers\.[\w.]+\.|contrib\.)?(?:operators|sensors|transfers)\b"
)
BASE_OPERATORS = {"airflow.sdk.BaseOperator", "airflow.sdk.BaseSensorOperator"}


def canonical(name: str) -> str:
    """Rewrite the longest known dotted prefix of `name` to its Airflow 3 home."""
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        prefix = ".".join(parts[:cut])
        if prefix in ALIASES:
            return ".".join([ALIASES[prefix], *parts[cut:]])
    return name


def star_exports(module: str) -> set[str] | None:
    """Names `from module import *` brings in, or None when the module is unknown."""
    if module in STAR_EXPORTS:
        return STAR_EXPORTS[module]
    return STAR_EXPORTS.get(canonical(module))


def looks_like_operator(name: str) -> bool:
    """True for a canonical class path that names an operator or sensor class."""
    if name in NOT_OPERATORS:
        return False
    if name in BASE_OPERATORS:
        return True
    last = name.rsplit(".", 1)[-1]
    if not last[:1].isupper():
        return False
    return bool(_OPERATOR_MODULE.match(name)) or last.endswith(("Operator", "Sensor"))


def taskflow_operator(flavour: str | None) -> str:
    """Canonical operator name of a TaskFlow task: airflow.sdk.task, airflow.sdk.task.branch, ..."""
    return "airflow.sdk.task" if not flavour else f"airflow.sdk.task.{flavour}"


_UNUSUAL_PREFIX = re.compile(r"^unusual_prefix_[0-9a-f]+_")


def canonical_from_live(module: str, class_name: str, custom_operator_name: str | None) -> str:
    """Map a class DagBag instantiated to the name static parsing gives the same task."""
    if custom_operator_name and custom_operator_name.startswith("@task"):
        flavour = custom_operator_name[len("@task") :].lstrip(".")
        return taskflow_operator(flavour or None)
    if class_name == "_AssetMainOperator":
        return "airflow.sdk.asset"
    module = _UNUSUAL_PREFIX.sub("", module)
    return canonical(f"{module}.{class_name}")
