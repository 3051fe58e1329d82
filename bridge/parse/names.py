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
    # The common.compat provider re-exports the SDK for DAGs that run on Airflow 2 and 3 (the
    # Amazon provider's own system tests import DAG, chain and task from it).
    "airflow.providers.common.compat.sdk": "airflow.sdk",
    "airflow.providers.common.compat.standard.operators.PythonOperator": f"{_STD}.operators.python.PythonOperator",
    "airflow.providers.common.compat.standard.operators.ShortCircuitOperator": f"{_STD}.operators.python.ShortCircuitOperator",
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
    # more Amazon and contrib paths seen in real DAG files (all removed in Airflow 3)
    "airflow.XComArg": "airflow.sdk.XComArg",
    "airflow.contrib.sensors.sagemaker_training_sensor": f"{_AWS}.sensors.sagemaker",
    "airflow.contrib.sensors.sagemaker_tuning_sensor": f"{_AWS}.sensors.sagemaker",
    "airflow.contrib.sensors.sagemaker_transform_sensor": f"{_AWS}.sensors.sagemaker",
    "airflow.contrib.sensors.sagemaker_endpoint_sensor": f"{_AWS}.sensors.sagemaker",
    "airflow.contrib.sensors.emr_job_flow_sensor": f"{_AWS}.sensors.emr",
    f"{_AWS}.sensors.emr_step": f"{_AWS}.sensors.emr",
    f"{_AWS}.sensors.emr_job_flow": f"{_AWS}.sensors.emr",
    f"{_AWS}.operators.emr_modify_cluster": f"{_AWS}.operators.emr",
    f"{_AWS}.operators.emr_containers.EMRContainerOperator": f"{_AWS}.operators.emr.EmrContainerOperator",
    f"{_AWS}.sensors.emr_containers.EMRContainerSensor": f"{_AWS}.sensors.emr.EmrContainerSensor",
    "airflow.contrib.operators.aws_athena_operator.AWSAthenaOperator": f"{_AWS}.operators.athena.AthenaOperator",
    f"{_AWS}.operators.athena.AWSAthenaOperator": f"{_AWS}.operators.athena.AthenaOperator",
    "airflow.contrib.sensors.aws_athena_sensor": f"{_AWS}.sensors.athena",
    "airflow.contrib.operators.awsbatch_operator.AWSBatchOperator": f"{_AWS}.operators.batch.BatchOperator",
    f"{_AWS}.operators.batch.AwsBatchOperator": f"{_AWS}.operators.batch.BatchOperator",
    "airflow.contrib.operators.ecs_operator.ECSOperator": f"{_AWS}.operators.ecs.EcsRunTaskOperator",
    f"{_AWS}.operators.ecs.ECSOperator": f"{_AWS}.operators.ecs.EcsRunTaskOperator",
    "airflow.contrib.operators.s3_delete_objects_operator": f"{_AWS}.operators.s3",
    "airflow.contrib.operators.s3_copy_object_operator": f"{_AWS}.operators.s3",
    "airflow.contrib.operators.s3_list_operator": f"{_AWS}.operators.s3",
    f"{_AWS}.operators.s3_bucket": f"{_AWS}.operators.s3",
    f"{_AWS}.operators.s3_copy_object": f"{_AWS}.operators.s3",
    f"{_AWS}.operators.s3_delete_objects": f"{_AWS}.operators.s3",
    f"{_AWS}.operators.s3_list": f"{_AWS}.operators.s3",
    f"{_AWS}.operators.s3_file_transform": f"{_AWS}.operators.s3",
    "airflow.operators.s3_file_transform_operator": f"{_AWS}.operators.s3",
    f"{_AWS}.sensors.s3_key": f"{_AWS}.sensors.s3",
    "airflow.contrib.operators.sns_publish_operator": f"{_AWS}.operators.sns",
    "airflow.contrib.operators.aws_sqs_publish_operator.SQSPublishOperator": f"{_AWS}.operators.sqs.SqsPublishOperator",
    f"{_AWS}.operators.sqs.SQSPublishOperator": f"{_AWS}.operators.sqs.SqsPublishOperator",
    "airflow.contrib.sensors.aws_sqs_sensor.SQSSensor": f"{_AWS}.sensors.sqs.SqsSensor",
    f"{_AWS}.sensors.sqs.SQSSensor": f"{_AWS}.sensors.sqs.SqsSensor",
    f"{_AWS}.operators.glue.AwsGlueJobOperator": f"{_AWS}.operators.glue.GlueJobOperator",
    f"{_AWS}.operators.glue_crawler.AwsGlueCrawlerOperator": f"{_AWS}.operators.glue_crawler.GlueCrawlerOperator",
    f"{_AWS}.sensors.glue.AwsGlueJobSensor": f"{_AWS}.sensors.glue.GlueJobSensor",
    "airflow.contrib.sensors.aws_glue_catalog_partition_sensor.AwsGlueCatalogPartitionSensor": f"{_AWS}.sensors.glue_catalog_partition.GlueCatalogPartitionSensor",
    "airflow.contrib.operators.dynamodb_to_s3": f"{_AWS}.transfers.dynamodb_to_s3",
    "airflow.operators.s3_to_redshift_operator.S3ToRedshiftTransfer": f"{_AWS}.transfers.s3_to_redshift.S3ToRedshiftOperator",
    "airflow.operators.redshift_to_s3_operator.RedshiftToS3Transfer": f"{_AWS}.transfers.redshift_to_s3.RedshiftToS3Operator",
    f"{_AWS}.operators.redshift_sql.RedshiftSQLOperator": "airflow.providers.common.sql.operators.sql.SQLExecuteQueryOperator",
    f"{_AWS}.operators.redshift.RedshiftSQLOperator": "airflow.providers.common.sql.operators.sql.SQLExecuteQueryOperator",
    f"{_AWS}.operators.step_function_start_execution": f"{_AWS}.operators.step_function",
    f"{_AWS}.operators.step_function_get_execution_output": f"{_AWS}.operators.step_function",
    f"{_AWS}.sensors.step_function_execution": f"{_AWS}.sensors.step_function",
    f"{_AWS}.operators.dms_create_task": f"{_AWS}.operators.dms",
    f"{_AWS}.operators.ec2_start_instance": f"{_AWS}.operators.ec2",
    f"{_AWS}.operators.datasync.AWSDataSyncOperator": f"{_AWS}.operators.datasync.DataSyncOperator",
    f"{_AWS}.operators.eks.EKSCreateClusterOperator": f"{_AWS}.operators.eks.EksCreateClusterOperator",
    f"{_AWS}.sensors.redshift.AwsRedshiftClusterSensor": f"{_AWS}.sensors.redshift_cluster.RedshiftClusterSensor",
    "airflow.operators.check_operator.CheckOperator": "airflow.providers.common.sql.operators.sql.SQLCheckOperator",
    "airflow.contrib.sensors.bash_sensor": f"{_STD}.sensors.bash",
    "airflow.contrib.operators.bigquery_get_data": "airflow.providers.google.cloud.operators.bigquery",
}

# Old paths that no longer import under Airflow 3.3 (measured in this environment, 2026-11): a file
# using them loads only after migration, so the parser says so (BRG114). The rest of ALIASES are
# deprecated shims that still import.
REMOVED_IN_AIRFLOW_3 = {
    "airflow.operators.python.task",
    "airflow.utils.helpers.chain",
    "airflow.utils.helpers.cross_downstream",
    "airflow.models.XComArg",
    "airflow.sensors.base_sensor_operator",
    "airflow.operators.python_operator",
    "airflow.operators.bash_operator",
    "airflow.operators.dummy_operator",
    "airflow.operators.dummy",
    "airflow.operators.dagrun_operator",
    "airflow.operators.branch_operator",
    "airflow.operators.latest_only_operator",
    "airflow.operators.email_operator",
    "airflow.operators.sql",
    "airflow.operators.http_operator",
    "airflow.providers.http.operators.http.SimpleHttpOperator",
    "airflow.sensors.date_time_sensor",
    "airflow.sensors.external_task_sensor",
    "airflow.sensors.time_delta_sensor",
    "airflow.sensors.http_sensor",
    "airflow.sensors.s3_key_sensor",
    "airflow.contrib",
    "airflow.providers.cncf.kubernetes.operators.kubernetes_pod",
    "airflow.utils.dates.days_ago",
    "airflow.operators.s3_file_transform_operator",
    "airflow.operators.s3_to_redshift_operator",
    "airflow.operators.redshift_to_s3_operator",
    "airflow.operators.check_operator",
}
REMOVED_IN_AIRFLOW_3.update(
    k for k in ALIASES if k.startswith(_AWS) and k not in ("airflow.providers.amazon.aws",)
)

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


# astronomer-providers (deprecated) holds deferrable copies of the official providers' operators,
# `...OperatorAsync`, at the same module paths; the official class with deferrable=True replaced
# them. A pipeline step waits the same way for either.
_ASTRONOMER = "astronomer.providers."


def canonical(name: str) -> str:
    """Rewrite the longest known dotted prefix of `name` to its Airflow 3 home."""
    if name.startswith(_ASTRONOMER) and name.endswith("Async"):
        name = "airflow.providers." + name[len(_ASTRONOMER) : -len("Async")]
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        prefix = ".".join(parts[:cut])
        if prefix in ALIASES:
            return ".".join([ALIASES[prefix], *parts[cut:]])
    return name


def removed_in_airflow_3(name: str) -> str | None:
    """The removed prefix `name` starts with, when the path no longer imports under Airflow 3."""
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        prefix = ".".join(parts[:cut])
        if prefix in REMOVED_IN_AIRFLOW_3:
            return prefix
    return None


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
