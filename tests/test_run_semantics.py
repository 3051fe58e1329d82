"""bridge.run.values against the SageMaker SDK's own local pipeline executor, on the same
pipelines.

The SDK side is `sagemaker.mlops.local`: `LocalPipelineSession` / `_LocalPipelineExecution` /
`LocalPipelineExecutor` running `Pipeline` objects. Ours reads the definition JSON that those
pipelines produce. Processing and Training jobs would need Docker, so `FinishedJobs` stands in for
the container behind the executor's SageMaker client: it takes the Create*Job request the executor
evaluated, writes the files the job is set to produce under its S3 outputs, and answers
Describe*Job the way SageMaker does (the request plus status, model artifacts, metrics).
Everything else (parameters, Join, JsonGet through S3, property references, conditions, Fail
steps, branch blocking) is the SDK's own code. S3 and STS are moto's.

Outcomes are compared as ("ok", type, value) or ("error", message): the SDK fails the step
(StepExecutionException), ours raises ValueError. The one case where we differ on purpose is
marked `xfail(strict=True)` with DELIBERATE in its reason (metrics picked by name, as the service
does, where the SDK's local executor cannot).
"""

from __future__ import annotations

import copy
import importlib
import json
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from bridge.emit.validate import REGION, ROLE, offline_environment
from bridge.run.values import Scope, evaluate_conditions, resolve

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:invalid escape sequence:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning:sagemaker"),
    pytest.mark.filterwarnings("ignore:Running within a PipelineSession:UserWarning"),
]

BUCKET = "run-semantics"
PIPELINE = "run-semantics"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/job:1"
PROBE = "Probe"
OFFLINE_ENV = (
    "AWS_DEFAULT_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "SAGEMAKER_VALIDATE_ROLE",
    "SAGEMAKER_USER_CONFIG_OVERRIDE",
)

# What the Processing step "Prep" writes to its outputs (its property files read them).
METRICS = {"metrics": {"auc": 0.8, "loss": [0.5, 0.25]}, "ok": True}
REPORT = {"summary": {"passed": True, "count": 3}, "labels": ["cat", "dog"]}
PREP_FILES = {
    "xcom": {"metrics.json": json.dumps(METRICS)},
    "eval": {"reports/eval.json": json.dumps(REPORT)},
}
# Read through JsonGet(s3_uri=Join(...)).
DOC = {
    "a": {"b": 2, "c": [10, 20]},
    "items": [{"b": "first"}, {"b": "second"}],
    "m": {"k": True, "spaced key": 3, "dotted.key": 1},
    "f": 1.5,
    "s": "text",
    "nothing": None,
    "n": [1, 2, 3],
    "2024": {"q": 4},
}


def disagreement(reason: str):
    return pytest.mark.xfail(strict=True, reason=f"differs from the SDK's local executor: {reason}")


# ---------------------------------------------------------------------------------------------
# The stand-in for Docker, and the two sides.


class FinishedJobs:
    """The executor's SageMaker client: every job has finished by the time it is described."""

    def __init__(self, s3):
        self.s3 = s3
        self.files: dict[str, dict[str, str]] = dict(PREP_FILES)  # output name -> {path: text}
        self.requests: dict[str, dict] = {}  # job kind -> the last Create*Job request
        self.described: dict[str, dict] = {}  # job kind -> the last Describe*Job response

    def create_processing_job(self, name, **request):
        self.requests["Processing"] = copy.deepcopy(request)
        for output in request.get("ProcessingOutputConfig", {}).get("Outputs", []):
            for path, text in self.files.get(output["OutputName"], {}).items():
                uri = output["S3Output"]["S3Uri"].rstrip("/") + "/" + path
                bucket, _, key = uri.removeprefix("s3://").partition("/")
                self.s3.put_object(Bucket=bucket, Key=key, Body=text.encode())
        self.described["Processing"] = {
            **copy.deepcopy(request),
            "ProcessingJobName": name,
            "ProcessingJobStatus": "Completed",
        }

    def describe_processing_job(self, name):
        return copy.deepcopy(self.described["Processing"])

    def create_training_job(self, name, **request):
        self.requests["Training"] = copy.deepcopy(request)
        output = request["OutputDataConfig"]["S3OutputPath"]
        self.described["Training"] = {
            **copy.deepcopy(request),
            "TrainingJobName": name,
            "TrainingJobStatus": "Completed",
            "ModelArtifacts": {"S3ModelArtifacts": f"{output}/{name}/output/model.tar.gz"},
            "FinalMetricDataList": [{"MetricName": "validation:auc", "Value": 0.91}],
        }

    def describe_training_job(self, name):
        return copy.deepcopy(self.described["Training"])


def all_steps(steps: list[dict]) -> list[dict]:
    found = []
    for step in steps:
        found.append(step)
        arguments = step.get("Arguments", {})
        found += all_steps(arguments.get("IfSteps", []) + arguments.get("ElseSteps", []))
    return found


def our_scope(definition: dict, overrides: dict, execution, properties: dict, s3) -> Scope:
    """The Scope a runner builds for this definition, from what the SDK execution knows."""

    def read_uri(uri: str) -> str:
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        try:
            return s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
        except s3.exceptions.ClientError as exc:
            raise FileNotFoundError(uri) from exc

    parameters = {p["Name"]: p.get("DefaultValue") for p in definition["Parameters"]}
    property_files = {
        step["Name"]: {
            f["PropertyFileName"]: (f["OutputName"], f["FilePath"]) for f in step["PropertyFiles"]
        }
        for step in all_steps(definition["Steps"])
        if step.get("PropertyFiles")
    }
    execution_id = execution.pipeline_execution_name
    return Scope(
        parameters={**parameters, **overrides},
        # Local mode stands the pipeline name for its ARN and the execution id for its ARN.
        execution={
            "PipelineName": execution.pipeline.name,
            "PipelineArn": execution.pipeline.name,
            "PipelineExecutionId": execution_id,
            "PipelineExecutionArn": execution_id,
            "StartDateTime": execution.creation_time,
        },
        properties=copy.deepcopy(properties),
        property_files=property_files,
        read_uri=read_uri,
    )


def typed(value: Any) -> tuple:
    return ("ok", type(value).__name__, value)


class Sides:
    """One SDK execution of the pipeline and, beside it, the Scope of ours that mirrors it."""

    def __init__(self, sm, pipeline, definition, local, jobs, execution_id, run=()):
        self.sm = sm
        self.definition = definition
        self.s3 = jobs.s3
        self.execution = sm._LocalPipelineExecution(execution_id, pipeline, local_session=local)
        self.executor = sm.LocalPipelineExecutor(self.execution, local)
        self.executor.local_sagemaker_client = jobs  # the only stand-in: no Docker jobs
        kinds = {"Prep": "Processing", "Train": "Training"}
        self.properties = {}
        for name in run:
            self.executor._execute_step(self.executor.pipeline_dag.step_map[name])
            self.properties[name] = copy.deepcopy(jobs.described[kinds[name]])
        # The step a probed value belongs to: the SDK fails it when the value cannot be resolved.
        self.execution.step_execution[PROBE] = sm._LocalPipelineExecutionStep(
            PROBE, sm.StepTypeEnum.CONDITION, None
        )
        self.probe_step = sm.ConditionStep(name=PROBE, conditions=[])

    def _json(self, request) -> Any:
        """What `Pipeline.definition()` writes for `request`."""
        return json.loads(json.dumps(self.sm.interpolate(request, {}, {}, pipeline_name=PIPELINE)))

    def _parameters(self, overrides: dict) -> Scope:
        # The SDK's own merge and validation of overrides, as at StartPipelineExecution.
        self.execution.pipeline_parameters = self.execution._initialize_and_validate_parameters(
            overrides or None
        )
        return our_scope(self.definition, overrides, self.execution, self.properties, self.s3)

    def _sdk(self, evaluate) -> tuple:
        try:
            return typed(evaluate())
        except self.sm.StepExecutionException as exc:
            return ("error", exc.message)

    @staticmethod
    def _ours(evaluate) -> tuple:
        try:
            return typed(evaluate())
        except ValueError as exc:
            return ("error", str(exc))

    def value(self, variable, overrides: dict | None = None) -> tuple[tuple, tuple]:
        """(SDK, ours) for one pipeline variable."""
        scope = self._parameters(overrides or {})
        expression = self._json(variable)
        theirs = self._sdk(lambda: self.executor.evaluate_pipeline_variable(variable, PROBE))
        return theirs, self._ours(lambda: resolve(expression, scope))

    def conditions(self, conditions: list, overrides: dict | None = None) -> tuple[tuple, tuple]:
        """(SDK, ours) for a ConditionStep's outcome with these conditions."""
        scope = self._parameters(overrides or {})
        step = self.sm.ConditionStep(name=PROBE, conditions=conditions)
        expression = self._json(step.step_only_arguments)["Conditions"]
        executor = self.sm._ConditionStepExecutor(self.executor, step)
        theirs = self._sdk(lambda: executor.execute()["Outcome"])
        return theirs, self._ours(lambda: evaluate_conditions(expression, scope))

    def resolve_condition(self, condition, overrides: dict) -> tuple[tuple, tuple]:
        """(SDK, ours) for one condition, through `_ConditionStepExecutor._resolve_condition`."""
        scope = self._parameters(overrides)
        request = condition.to_request()
        expression = self._json(request)
        resolver = self.sm._ConditionStepExecutor(self.executor, self.probe_step)
        theirs = self._sdk(
            lambda: resolver._resolve_condition(self.executor._parse_arguments(request, PROBE))
        )
        return theirs, self._ours(lambda: evaluate_conditions([expression], scope))


ERROR = "<the step fails>"
ANY = "<some value>"


def sdk_gives(theirs: tuple, expected: Any) -> None:
    """Pin the SDK's result, so that agreeing is never agreeing on a broken fixture."""
    if expected == ERROR:
        assert theirs[0] == "error", theirs
    elif expected == ANY:
        assert theirs[0] == "ok", theirs
    else:
        assert theirs[0] == "ok" and theirs[2] == expected, theirs


def agree(theirs: tuple, ours: tuple) -> None:
    assert ours[0] == theirs[0], f"SDK {theirs} but ours {ours}"
    if theirs[0] == "ok":
        assert ours == theirs


# ---------------------------------------------------------------------------------------------
# Built once per module: the SDK import alone takes several seconds.


@pytest.fixture(scope="module")
def sides():
    with pytest.MonkeyPatch.context() as mp:
        for key in OFFLINE_ENV:
            mp.setenv(key, "")  # remembered, and restored when the module is done
        offline_environment()
        import boto3
        import moto

        with moto.mock_aws():
            s3 = boto3.client("s3", region_name=REGION)
            s3.create_bucket(Bucket=BUCKET)
            s3.put_object(Bucket=BUCKET, Key="docs/doc.json", Body=json.dumps(DOC).encode())
            s3.put_object(Bucket=BUCKET, Key="docs/broken.json", Body=b"{not json")
            sm = _import_sdk(mp)
            yield _build(sm, s3)


# What the tests use of the SDK, imported only once the offline environment is set.
SDK_NAMES = {
    "sagemaker.core.processing": ["Processor"],
    "sagemaker.core.shapes": [
        "ProcessingInput",
        "ProcessingOutput",
        "ProcessingS3Input",
        "ProcessingS3Output",
    ],
    "sagemaker.core.workflow.conditions": [
        "ConditionEquals",
        "ConditionGreaterThan",
        "ConditionGreaterThanOrEqualTo",
        "ConditionIn",
        "ConditionLessThan",
        "ConditionLessThanOrEqualTo",
        "ConditionNot",
        "ConditionOr",
    ],
    "sagemaker.core.workflow.execution_variables": ["ExecutionVariables"],
    "sagemaker.core.workflow.functions": ["Join", "JsonGet", "PropertyFile"],
    "sagemaker.core.workflow.parameters": [
        "ParameterBoolean",
        "ParameterFloat",
        "ParameterInteger",
        "ParameterString",
    ],
    "sagemaker.core.workflow.pipeline_context": ["PipelineSession"],
    "sagemaker.mlops.local": ["LocalPipelineSession"],
    "sagemaker.mlops.local.exceptions": ["StepExecutionException"],
    "sagemaker.mlops.local.pipeline": ["LocalPipelineExecutor", "_ConditionStepExecutor"],
    "sagemaker.mlops.local.pipeline_entities": [
        "_LocalPipelineExecution",
        "_LocalPipelineExecutionStep",
    ],
    "sagemaker.mlops.workflow": [
        "ConditionStep",
        "FailStep",
        "Pipeline",
        "ProcessingStep",
        "TrainingStep",
    ],
    "sagemaker.mlops.workflow.pipeline": ["interpolate"],
    "sagemaker.mlops.workflow.steps": ["StepTypeEnum"],
    "sagemaker.train": ["ModelTrainer"],
}


def _import_sdk(mp) -> SimpleNamespace:
    from sagemaker.core.config.config_manager import SageMakerConfig

    sm = SimpleNamespace()
    for module, names in SDK_NAMES.items():
        imported = importlib.import_module(module)
        for name in names:
            setattr(sm, name, getattr(imported, name))

    # The SDK re-validates its (constant) config against a large JSON schema on every lookup,
    # ~0.4 s each; validate each distinct config once.
    validated: set[str] = set()
    original = SageMakerConfig.validate_sagemaker_config

    def validate_once(config=None):
        key = json.dumps(config, sort_keys=True, default=str)
        if key not in validated:
            original(config)
            validated.add(key)

    mp.setattr(SageMakerConfig, "validate_sagemaker_config", staticmethod(validate_once))
    return sm


def _build(sm, s3) -> SimpleNamespace:
    """The pipeline: Prep (Processing with three property files), Train (Training), and Gate, a
    ConditionStep over both whose branches are Fail steps (so a run's failure message shows
    which branch ran and what its Join evaluated to)."""
    session = sm.PipelineSession(default_bucket=BUCKET)
    local = sm.LocalPipelineSession(default_bucket=BUCKET)
    p = SimpleNamespace(
        mode=sm.ParameterString("Mode", default_value="train"),
        epochs=sm.ParameterInteger("Epochs", default_value=3),
        threshold=sm.ParameterFloat("Threshold", default_value=0.5),
        flag=sm.ParameterBoolean("Flag", default_value=False),
        instance_type=sm.ParameterString("InstanceType", default_value="ml.m5.xlarge"),
    )
    execution_id = sm.ExecutionVariables.PIPELINE_EXECUTION_ID

    def output(name: str):
        uri = sm.Join(
            on="/",
            values=[
                f"s3://{BUCKET}",
                sm.ExecutionVariables.PIPELINE_NAME,
                execution_id,
                "Prep",
                name,
            ],
        )
        return sm.ProcessingOutput(
            output_name=name,
            s3_output=sm.ProcessingS3Output(
                s3_uri=uri,
                local_path=f"/opt/ml/processing/output/{name}",
                s3_upload_mode="EndOfJob",
            ),
        )

    code = sm.ProcessingInput(
        input_name="code",
        s3_input=sm.ProcessingS3Input(
            s3_uri=f"s3://{BUCKET}/code/",
            local_path="/opt/ml/processing/input/code",
            s3_data_type="S3Prefix",
            s3_input_mode="File",
        ),
    )
    processor = sm.Processor(
        role=ROLE,
        image_uri=IMAGE,
        instance_count=1,
        instance_type=p.instance_type,
        sagemaker_session=session,
    )
    p.metrics = sm.PropertyFile(name="Metrics", output_name="xcom", path="metrics.json")
    p.report = sm.PropertyFile(name="Report", output_name="eval", path="reports/eval.json")
    p.rooted = sm.PropertyFile(name="Rooted", output_name="xcom", path="/metrics.json")
    p.prep = sm.ProcessingStep(
        name="Prep",
        step_args=processor.run(
            inputs=[code], outputs=[output("xcom"), output("eval")], arguments=["--mode", p.mode]
        ),
        property_files=[p.metrics, p.report, p.rooted],
    )
    trainer = sm.ModelTrainer(
        training_image=IMAGE, role=ROLE, sagemaker_session=session, base_job_name="train"
    )
    p.train = sm.TrainingStep(name="Train", step_args=trainer.train())
    auc = sm.JsonGet(step_name="Prep", property_file=p.metrics, json_path="metrics.auc")
    p.gate = sm.ConditionStep(
        name="Gate",
        conditions=[
            sm.ConditionGreaterThanOrEqualTo(left=auc, right=p.threshold),
            sm.ConditionEquals(left=p.train.properties.TrainingJobStatus, right="Completed"),
        ],
        if_steps=[
            sm.FailStep(
                name="Accept",
                error_message=sm.Join(
                    on=" ",
                    values=["accept", p.train.properties.ModelArtifacts.S3ModelArtifacts, auc],
                ),
            )
        ],
        else_steps=[
            sm.FailStep(
                name="Reject",
                error_message=sm.Join(on=" ", values=["reject below", p.threshold, execution_id]),
            )
        ],
    )
    pipeline = sm.Pipeline(
        name=PIPELINE,
        steps=[p.prep, p.train, p.gate],
        parameters=[p.mode, p.epochs, p.threshold, p.flag, p.instance_type],
        sagemaker_session=session,
    )
    definition = json.loads(pipeline.definition())
    jobs = FinishedJobs(s3)
    ran = Sides(sm, pipeline, definition, local, jobs, "RUNSEMANTIC1", run=("Prep", "Train"))
    fresh = Sides(sm, pipeline, definition, local, jobs, "RUNSEMANTIC2")
    return SimpleNamespace(
        sm=sm,
        p=p,
        pipeline=pipeline,
        definition=definition,
        local=local,
        s3=s3,
        ran=ran,
        fresh=fresh,
    )


# ---------------------------------------------------------------------------------------------
# Parameters, execution variables, Join


def _doc_uri(sm, name="doc.json"):
    return sm.Join(on="/", values=[f"s3://{BUCKET}", "docs", name])


@pytest.mark.parametrize(
    "name,overrides",
    [
        ("Mode", {}),
        ("Mode", {"Mode": "eval"}),
        ("Epochs", {}),
        ("Epochs", {"Epochs": 7}),
        ("Threshold", {}),
        ("Threshold", {"Threshold": 0.25}),
        ("Flag", {}),
        ("Flag", {"Flag": True}),
        ("InstanceType", {"Mode": "eval"}),
    ],
)
def test_parameters_defaults_and_overrides(sides, name, overrides):
    parameter = next(p for p in sides.pipeline.parameters if p.name == name)
    theirs, ours = sides.ran.value(parameter, overrides)
    assert theirs[0] == "ok"
    agree(theirs, ours)


JOINS = {
    "strings": lambda sm, p: sm.Join(on="/", values=["s3:/", BUCKET, "a", ""]),
    "numbers": lambda sm, p: sm.Join(on=",", values=[1, 2.5, 1.0, -3, 0, 1e20, 0.1 + 0.2]),
    "bools": lambda sm, p: sm.Join(on=",", values=[True, False]),
    "empty": lambda sm, p: sm.Join(on=",", values=[]),
    "parameters": lambda sm, p: sm.Join(
        on="-", values=[p.mode, p.epochs, p.threshold, p.flag, p.instance_type]
    ),
    "execution": lambda sm, p: sm.Join(
        on="|",
        values=[
            sm.ExecutionVariables.PIPELINE_NAME,
            sm.ExecutionVariables.PIPELINE_ARN,
            sm.ExecutionVariables.PIPELINE_EXECUTION_ID,
            sm.ExecutionVariables.PIPELINE_EXECUTION_ARN,
            sm.ExecutionVariables.START_DATETIME,
        ],
    ),
    "nested": lambda sm, p: sm.Join(
        on="/", values=[sm.Join(on="-", values=["a", p.epochs]), p.flag, "b"]
    ),
    "properties and json": lambda sm, p: sm.Join(
        on=" ",
        values=[
            p.train.properties.ModelArtifacts.S3ModelArtifacts,
            sm.JsonGet(step_name="Prep", property_file=p.metrics, json_path="metrics.loss[1]"),
            sm.JsonGet(s3_uri=_doc_uri(sm), json_path="a.c"),
        ],
    ),
}


@pytest.mark.parametrize("overrides", [{}, {"Mode": "eval", "Epochs": 12, "Flag": True}])
@pytest.mark.parametrize("case", list(JOINS))
def test_join(sides, case, overrides):
    theirs, ours = sides.ran.value(JOINS[case](sides.sm, sides.p), overrides)
    assert theirs[0] == "ok"
    agree(theirs, ours)


# ---------------------------------------------------------------------------------------------
# JsonGet: from an S3 URI built by Join, and from a step's PropertyFile

JSON_PATHS = [  # path, what the SDK gives, why ours differs
    ("a.b", 2, None),
    ("a['b']", 2, None),
    ('a["b"]', 2, None),
    ("a.c[1]", 20, None),
    ("items[0].b", "first", None),
    ("items[1].b", "second", None),
    ("m['k']", True, None),
    ("m['spaced key']", 3, None),
    ("f", 1.5, None),
    ("s", "text", None),
    ("a", DOC["a"], None),
    ("n", [1, 2, 3], None),
    ("n[1]", 2, None),
    ("missing", ERROR, None),
    ("a.missing", ERROR, None),
    ("items[5].b", ERROR, None),
    ("a.b.c", ERROR, None),
    ("s[0]", "t", None),
    ("n[-1]", 3, None),
    ("2024.q", 4, None),
    ("m['dotted.key']", ERROR, None),
    ("nothing", ERROR, None),
    ("", ERROR, None),
]


@pytest.mark.parametrize(
    "path,expected",
    [pytest.param(p, e, marks=disagreement(r) if r else ()) for p, e, r in JSON_PATHS],
)
def test_json_get_from_join_uri(sides, path, expected):
    sm = sides.sm
    theirs, ours = sides.ran.value(sm.JsonGet(s3_uri=_doc_uri(sm), json_path=path))
    sdk_gives(theirs, expected)
    agree(theirs, ours)


def test_json_get_uri_with_execution_variable(sides):
    sm = sides.sm
    execution_id = sides.ran.execution.pipeline_execution_name
    sides.s3.put_object(Bucket=BUCKET, Key=f"runs/{execution_id}/out.json", Body=b'{"x": [7]}')
    uri = sm.Join(
        on="/",
        values=[f"s3://{BUCKET}/runs", sm.ExecutionVariables.PIPELINE_EXECUTION_ID, "out.json"],
    )
    theirs, ours = sides.ran.value(sm.JsonGet(s3_uri=uri, json_path="x[0]"))
    assert theirs == ("ok", "int", 7)
    agree(theirs, ours)


@pytest.mark.parametrize("name", ["absent.json", "broken.json"])
def test_json_get_unreadable_file_fails_both(sides, name):
    theirs, ours = sides.ran.value(sides.sm.JsonGet(s3_uri=_doc_uri(sides.sm, name), json_path="a"))
    assert theirs[0] == "error"
    agree(theirs, ours)


@pytest.mark.parametrize(
    "file,path,expected",
    [
        ("Metrics", "metrics.auc", 0.8),
        ("Metrics", "metrics.loss[0]", 0.5),
        ("Metrics", "metrics['loss']", [0.5, 0.25]),
        ("Metrics", "ok", True),
        ("Report", "summary.passed", True),
        ("Report", "labels[1]", "dog"),
        ("Report", "summary['count']", 3),
        ("Metrics", "metrics.precision", ERROR),
        ("Report", "labels[2]", ERROR),
        ("Rooted", "ok", True),  # a leading slash in the path: joined as s3_path_join does
    ],
)
@pytest.mark.parametrize("by", ["object", "name"])
def test_json_get_from_property_file(sides, file, path, expected, by):
    property_file = {
        "Metrics": sides.p.metrics,
        "Report": sides.p.report,
        "Rooted": sides.p.rooted,
    }[file]
    reference = property_file if by == "object" else file
    variable = sides.sm.JsonGet(step_name="Prep", property_file=reference, json_path=path)
    theirs, ours = sides.ran.value(variable)
    sdk_gives(theirs, expected)
    agree(theirs, ours)


def test_json_get_from_property_file_of_a_step_that_has_not_run(sides):
    variable = sides.sm.JsonGet(step_name="Prep", property_file=sides.p.metrics, json_path="ok")
    theirs, ours = sides.fresh.value(variable)
    assert theirs[0] == "error"
    agree(theirs, ours)


# ---------------------------------------------------------------------------------------------
# Step properties: the Describe*Job response

PREP_XCOM = f"s3://{BUCKET}/{PIPELINE}/RUNSEMANTIC1/Prep/xcom"
PROPERTIES = [  # step, path, what the SDK gives, why ours differs
    ("prep", "ProcessingOutputConfig.Outputs['xcom'].S3Output.S3Uri", PREP_XCOM, None),
    (
        "prep",
        "ProcessingOutputConfig.Outputs['eval'].S3Output.LocalPath",
        "/opt/ml/processing/output/eval",
        None,
    ),
    ("prep", "ProcessingInputs['code'].S3Input.S3Uri", f"s3://{BUCKET}/code/", None),
    ("prep", "ProcessingJobStatus", "Completed", None),
    # Prep ran with the default InstanceType: an override at probe time does not change it.
    ("prep", "ProcessingResources.ClusterConfig.InstanceType", "ml.m5.xlarge", None),
    ("prep", "AppSpecification.ImageUri", IMAGE, None),
    ("prep", "ProcessingOutputConfig.Outputs['missing'].S3Output.S3Uri", ERROR, None),
    ("train", "ModelArtifacts.S3ModelArtifacts", ANY, None),
    ("train", "TrainingJobStatus", "Completed", None),
    ("train", "OutputDataConfig.S3OutputPath", f"s3://{BUCKET}/train", None),
    (
        "train",
        "FinalMetricDataList['validation:auc'].Value",
        ERROR,
        "DELIBERATE: the SDK's local executor keeps FinalMetricDataList a list (it maps only "
        "Processing Outputs/Inputs by name) and fails; ours, like the service, picks the metric "
        "by name: 0.91",
    ),
]


def _property(step, path: str):
    """`step.properties` followed along `path` the way user code writes it."""
    value = step.properties
    for part in path.replace("[", ".[").split("."):
        value = value[part[2:-2]] if part.startswith("[") else getattr(value, part)
    return value


@pytest.mark.parametrize(
    "step,path,expected",
    [pytest.param(s, p, e, marks=disagreement(r) if r else ()) for s, p, e, r in PROPERTIES],
)
def test_step_properties(sides, step, path, expected):
    variable = _property(getattr(sides.p, step), path)
    assert variable.expr == {"Get": f"Steps.{getattr(sides.p, step).name}.{path}"}
    theirs, ours = sides.ran.value(variable, {"InstanceType": "ml.c5.large"})
    sdk_gives(theirs, expected)
    agree(theirs, ours)


@pytest.mark.parametrize(
    "step,path", [("prep", "ProcessingJobStatus"), ("train", "ModelArtifacts.S3ModelArtifacts")]
)
def test_step_properties_of_a_step_that_has_not_run(sides, step, path):
    theirs, ours = sides.fresh.value(_property(getattr(sides.p, step), path))
    assert theirs[0] == "error"
    agree(theirs, ours)


# ---------------------------------------------------------------------------------------------
# Conditions

CONDITIONS = {
    "eq str": lambda s, p: [s.ConditionEquals(left=p.mode, right="train")],
    "eq str false": lambda s, p: [s.ConditionEquals(left=p.mode, right="eval")],
    "eq int": lambda s, p: [s.ConditionEquals(left=p.epochs, right=3)],
    "eq float": lambda s, p: [s.ConditionEquals(left=p.threshold, right=0.5)],
    "eq bool": lambda s, p: [s.ConditionEquals(left=p.flag, right=False)],
    "eq bool int": lambda s, p: [s.ConditionEquals(left=p.flag, right=0)],
    "eq int float": lambda s, p: [s.ConditionEquals(left=p.epochs, right=3.0)],
    "eq int str": lambda s, p: [s.ConditionEquals(left=p.epochs, right="3")],
    "eq param param": lambda s, p: [s.ConditionEquals(left=p.mode, right=p.instance_type)],
    "gt": lambda s, p: [s.ConditionGreaterThan(left=p.epochs, right=2)],
    "gte": lambda s, p: [s.ConditionGreaterThanOrEqualTo(left=p.threshold, right=0.5)],
    "lt int float": lambda s, p: [s.ConditionLessThan(left=p.epochs, right=2.5)],
    "lte str": lambda s, p: [s.ConditionLessThanOrEqualTo(left=p.mode, right="train")],
    "gt str int": lambda s, p: [s.ConditionGreaterThan(left=p.mode, right=1)],
    "in": lambda s, p: [s.ConditionIn(value=p.mode, in_values=["train", "eval"])],
    "in false": lambda s, p: [s.ConditionIn(value=p.epochs, in_values=[1, 2, "3"])],
    "in params": lambda s, p: [s.ConditionIn(value=3, in_values=[p.mode, p.epochs])],
    "not": lambda s, p: [s.ConditionNot(expression=s.ConditionEquals(left=p.flag, right=True))],
    "not type error": lambda s, p: [
        s.ConditionNot(expression=s.ConditionEquals(left=p.epochs, right=p.threshold))
    ],
    "or": lambda s, p: [
        s.ConditionOr(
            conditions=[
                s.ConditionEquals(left=p.mode, right="eval"),
                s.ConditionGreaterThan(left=p.epochs, right=5),
            ]
        )
    ],
    "or stops at first true": lambda s, p: [
        s.ConditionOr(
            conditions=[
                s.ConditionEquals(left=p.mode, right="train"),
                s.ConditionEquals(left=p.mode, right=1),
            ]
        )
    ],
    "and stops at first false": lambda s, p: [
        s.ConditionEquals(left=p.mode, right="eval"),
        s.ConditionEquals(left=p.mode, right=1),
    ],
    "nested": lambda s, p: [
        s.ConditionNot(
            expression=s.ConditionOr(
                conditions=[
                    s.ConditionNot(expression=s.ConditionIn(value=p.mode, in_values=["train"])),
                    s.ConditionLessThan(left=p.threshold, right=0.1),
                ]
            )
        ),
        s.ConditionGreaterThanOrEqualTo(left=p.epochs, right=3),
    ],
    "json get": lambda s, p: [
        s.ConditionGreaterThanOrEqualTo(
            left=s.JsonGet(step_name="Prep", property_file=p.metrics, json_path="metrics.auc"),
            right=p.threshold,
        ),
        s.ConditionEquals(
            left=s.JsonGet(step_name="Prep", property_file=p.report, json_path="summary.passed"),
            right=True,
        ),
        s.ConditionIn(
            value=s.JsonGet(step_name="Prep", property_file=p.report, json_path="labels[0]"),
            in_values=["cat", p.mode],
        ),
    ],
    "properties": lambda s, p: [
        s.ConditionEquals(left=p.train.properties.TrainingJobStatus, right="Completed"),
        s.ConditionEquals(
            left=s.JsonGet(s3_uri=_doc_uri(s), json_path="items[1].b"),
            right=s.Join(on="", values=["sec", "ond"]),
        ),
    ],
    "unresolvable value": lambda s, p: [
        s.ConditionEquals(left=s.JsonGet(s3_uri=_doc_uri(s), json_path="a.zzz"), right=1)
    ],
}

# Both sides stop at the first False condition and the first True branch of an Or, but the SDK
# evaluates every value of the step's conditions before testing any of them.
CONDITIONS_RESOLVED_FIRST = {
    "or unresolvable after true": (
        lambda s, p: [
            s.ConditionOr(
                conditions=[
                    s.ConditionEquals(left=p.mode, right="train"),
                    s.ConditionEquals(
                        left=s.JsonGet(s3_uri=_doc_uri(s, "absent.json"), json_path="a"), right=1
                    ),
                ]
            )
        ],
        "the SDK resolves every value of a ConditionStep's conditions before testing any, so an "
        "unreadable JsonGet in the second branch of a true Or fails the step; ours short-circuits "
        "and returns True",
    ),
    "unresolvable after false": (
        lambda s, p: [
            s.ConditionEquals(left=p.mode, right="eval"),
            s.ConditionEquals(left=s.JsonGet(s3_uri=_doc_uri(s), json_path="a.zzz"), right=1),
        ],
        "the SDK resolves every value before testing; after a False first condition, a bad "
        "JsonGet path in the second still fails the step; ours returns False",
    ),
}


@pytest.mark.parametrize("overrides", [{}, {"Mode": "eval", "Epochs": 9, "Flag": True}])
@pytest.mark.parametrize("case", list(CONDITIONS))
def test_condition_step_outcome(sides, case, overrides):
    theirs, ours = sides.ran.conditions(CONDITIONS[case](sides.sm, sides.p), overrides)
    agree(theirs, ours)
    if theirs[0] == "error" and ("same type" in theirs[1] or "not supported" in theirs[1]):
        assert ours[1] == theirs[1]  # the module words type errors as the SDK does


@pytest.mark.parametrize(
    "case",
    list(CONDITIONS_RESOLVED_FIRST),
)
def test_condition_step_resolves_every_value_first(sides, case):
    theirs, ours = sides.ran.conditions(CONDITIONS_RESOLVED_FIRST[case][0](sides.sm, sides.p))
    assert theirs[0] == "error"
    agree(theirs, ours)


# ---------------------------------------------------------------------------------------------
# Property test: random conditions over literals and parameters

LITERALS = st.one_of(
    st.integers(-2, 2),
    st.sampled_from([0.0, 0.5, 1.0, -1.5, 2.0]),
    st.sampled_from(["", "a", "b", "ab", "train"]),
    st.booleans(),
)
OPERANDS = st.one_of(LITERALS, st.sampled_from(["$Mode", "$Epochs", "$Threshold", "$Flag"]))
BINARY_KINDS = ["Equals", "GreaterThan", "GreaterThanOrEqualTo", "LessThan", "LessThanOrEqualTo"]
LEAVES = st.one_of(
    st.tuples(st.sampled_from(BINARY_KINDS), OPERANDS, OPERANDS),
    st.tuples(st.just("In"), OPERANDS, st.lists(OPERANDS, max_size=3)),
)
TREES = st.recursive(
    LEAVES,
    lambda inner: st.one_of(
        st.tuples(st.just("Not"), inner), st.tuples(st.just("Or"), st.lists(inner, max_size=3))
    ),
    max_leaves=4,
)
OVERRIDES = st.fixed_dictionaries(
    {},
    optional={
        "Mode": st.sampled_from(["a", "b", "train"]),
        "Epochs": st.integers(-2, 2),
        "Threshold": st.sampled_from([0.0, 0.5, -1.5, 2.0]),
        "Flag": st.booleans(),
    },
)


def _sdk_condition(tree, sm, parameters):
    def operand(value):
        if isinstance(value, str) and value.startswith("$"):
            return parameters[value[1:]]
        return value

    kind = tree[0]
    if kind == "Not":
        return sm.ConditionNot(expression=_sdk_condition(tree[1], sm, parameters))
    if kind == "Or":
        return sm.ConditionOr(conditions=[_sdk_condition(t, sm, parameters) for t in tree[1]])
    if kind == "In":
        return sm.ConditionIn(value=operand(tree[1]), in_values=[operand(v) for v in tree[2]])
    return getattr(sm, f"Condition{kind}")(left=operand(tree[1]), right=operand(tree[2]))


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tree=TREES, overrides=OVERRIDES)
def test_random_conditions_agree(sides, tree, overrides):
    parameters = {p.name: p for p in sides.pipeline.parameters}
    condition = _sdk_condition(tree, sides.sm, parameters)
    theirs, ours = sides.ran.resolve_condition(condition, overrides)
    event(f"SDK outcome: {theirs[2] if theirs[0] == 'ok' else 'error'}")
    agree(theirs, ours)
    if theirs[0] == "error":
        assert ours[1] == theirs[1]


# ---------------------------------------------------------------------------------------------
# Whole runs through LocalPipelineSession: Prep and Train "run", Gate decides, a Fail step says
# which branch ran with its Join evaluated.


def _our_run(definition: dict, scope: Scope) -> tuple[str, str | None]:
    """(the step a run of this definition fails at, its message), by our evaluator."""
    (gate,) = [s for s in definition["Steps"] if s["Type"] == "Condition"]
    try:
        outcome = evaluate_conditions(gate["Arguments"]["Conditions"], scope)
    except ValueError:
        return gate["Name"], None
    (fail,) = gate["Arguments"]["IfSteps" if outcome else "ElseSteps"]
    return fail["Name"], resolve(fail["Arguments"]["ErrorMessage"], scope)


@pytest.mark.parametrize(
    "overrides,metrics,expected_step",
    [
        ({}, METRICS, "Accept"),
        ({"Threshold": 0.95}, METRICS, "Reject"),
        ({"Threshold": 0.8}, METRICS, "Accept"),
        ({}, {"ok": True}, "Gate"),
        ({}, {"metrics": {"auc": "0.9"}}, "Gate"),
    ],
)
def test_whole_run_through_local_pipeline_session(sides, overrides, metrics, expected_step):
    jobs = FinishedJobs(sides.s3)
    jobs.files = {**PREP_FILES, "xcom": {"metrics.json": json.dumps(metrics)}}
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sides.local, "sagemaker_client", jobs)
        sides.local.create_pipeline(sides.pipeline, "run semantics")
        execution = sides.local.start_pipeline_execution(
            PipelineName=PIPELINE, PipelineParameters=overrides
        )
    definition = json.loads(sides.local.describe_pipeline(PIPELINE)["PipelineDefinition"])
    assert definition == sides.definition
    properties = {"Prep": jobs.described["Processing"], "Train": jobs.described["Training"]}
    scope = our_scope(definition, overrides, execution, properties, sides.s3)

    # The jobs got the requests ours evaluates from the definition's Arguments.
    steps = {s["Name"]: s for s in definition["Steps"]}
    assert resolve(steps["Prep"]["Arguments"], scope) == jobs.requests["Processing"]
    assert resolve(steps["Train"]["Arguments"], scope) == jobs.requests["Training"]

    reason = execution.describe()["FailureReason"]
    step, message = _our_run(definition, scope)
    assert step == expected_step
    assert reason.startswith(f"Step '{step}' failed with message: ")
    if message is not None:  # a Fail step's message: its Join, evaluated by both
        assert reason == f"Step '{step}' failed with message: {message}"
    statuses = {
        s["StepName"]: s["StepStatus"] for s in execution.list_steps()["PipelineExecutionSteps"]
    }
    assert statuses["Prep"] == statuses["Train"] == "Succeeded"
    assert statuses[expected_step] == "Failed"
    assert not ({"Accept", "Reject"} - {expected_step}) & statuses.keys()  # the other branch
