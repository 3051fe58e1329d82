"""`bridge run` with the local engine: the sample pipelines, and the runner's semantics on small
hand-written definitions (failures, timeouts, retries, caching, conditions, Lambda)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bridge.run.engine import RunError, RunOptions, run_local
from bridge.run.record import FAILED, NOT_EXECUTED, NOT_RUNNABLE, SUCCEEDED, RunRecord

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden"
DATA = ROOT / "sample_dags" / "data"
BUCKET = "s3://test-bucket"


def _copy_golden(name: str, tmp_path: Path) -> Path:
    folder = tmp_path / name
    shutil.copytree(GOLDEN / name, folder)
    return folder


@pytest.mark.parametrize(
    ("dag_id", "not_run"),
    [
        ("ml_taskflow_pipeline", {"notify_failure", "report-via-notify_failure"}),
        ("ml_classic_operators", {"flag_for_review", "publish_report-via-flag_for_review"}),
        ("dynamic_feature_pipeline", set()),
        ("legacy_airflow1_style", set()),
    ],
)
def test_sample_pipelines_run_locally(dag_id, not_run, tmp_path):
    folder = _copy_golden(dag_id, tmp_path)
    record = run_local(folder)
    assert record.isolated is True
    assert record.status == SUCCEEDED, record.message
    assert not record.partial
    skipped = {n for n, s in record.steps.items() if s.status == NOT_EXECUTED}
    assert skipped == not_run
    assert all(s.status == SUCCEEDED for n, s in record.steps.items() if n not in not_run)
    again = RunRecord.read(Path(record.folder))
    assert again.to_dict() == json.loads((Path(record.folder) / "run.json").read_text())


def test_taskflow_sample_passes_values_between_steps(tmp_path):
    folder = _copy_golden("ml_taskflow_pipeline", tmp_path)
    record = run_local(folder)
    metrics = record.steps["evaluate_model"].property_files["xcom"]["return_value"]
    assert metrics["rmse"] < 25.0  # the condition's threshold: register_model ran
    assert record.steps["check_quality"].branch is True
    registered = record.steps["register_model"].property_files["xcom"]["return_value"]
    assert registered["metrics"] == metrics  # read from the upstream step's output
    # a stricter threshold takes the other branch, as the DAG would
    strict = run_local(
        folder,
        RunOptions(parameters={"rmse_threshold": "1"}),
    )
    assert strict.steps["check_quality"].branch is False
    assert strict.steps["notify_failure"].status == SUCCEEDED
    assert strict.steps["register_model"].status == NOT_EXECUTED


def test_sagemaker_sample_runs_partially_and_says_why(tmp_path):
    folder = _copy_golden("sagemaker_operators", tmp_path)
    prefix = "s3://ml-bridge-samples-123456789012/housing-xgboost"
    seeds = {
        f"{prefix}/raw/housing.csv": DATA / "housing.csv",
        f"{prefix}/code/preprocess.py": ROOT / "sample_dags" / "sagemaker_code" / "preprocess.py",
    }
    record = run_local(folder, RunOptions(seeds=seeds))
    assert record.status == SUCCEEDED and record.partial
    assert record.steps["preprocess"].status == SUCCEEDED
    train = Path(record.folder).parent / "store" / "ml-bridge-samples-123456789012"
    assert (train / "housing-xgboost/processed/train/train.csv").is_file()
    assert record.steps["train_model"].status == NOT_RUNNABLE
    assert "Docker" in record.steps["train_model"].reason
    assert record.steps["create_model"].status == NOT_EXECUTED
    assert "not runnable locally" in record.steps["create_model"].reason


def test_cli_run_exit_codes(tmp_path):
    folder = _copy_golden("sagemaker_operators", tmp_path)
    bridge = [sys.executable, "-m", "bridge.cli"]
    missing = subprocess.run([*bridge, "run", str(folder)], capture_output=True, text=True)
    assert missing.returncode == 1  # the raw data is not in the store: preprocess fails
    assert "ClientError: input raw" in missing.stdout
    unknown = subprocess.run(
        [*bridge, "run", str(folder), "--param", "nope=1"], capture_output=True, text=True
    )
    assert unknown.returncode == 2
    assert "BRG301" in unknown.stderr
    empty = subprocess.run([*bridge, "run", str(tmp_path)], capture_output=True, text=True)
    assert empty.returncode == 2 and "BRG300" in empty.stderr


# ---- hand-written definitions ------------------------------------------------------------------


def processing_step(name: str, script: str, *, outputs=("out",), inputs=(), **extra) -> dict:
    step = {
        "Name": name,
        "Type": "Processing",
        "Arguments": {
            "AppSpecification": {
                "ImageUri": "123.dkr.ecr.us-east-1.amazonaws.com/sklearn:1",
                "ContainerEntrypoint": ["python3", f"/opt/ml/processing/input/code/{script}"],
            },
            "ProcessingInputs": [
                {
                    "InputName": "code",
                    "S3Input": {
                        "S3Uri": f"{BUCKET}/code/{script}",
                        "LocalPath": "/opt/ml/processing/input/code",
                    },
                },
                *inputs,
            ],
            "ProcessingOutputConfig": {
                "Outputs": [
                    {
                        "OutputName": o,
                        "S3Output": {
                            "S3Uri": {
                                "Std:Join": {
                                    "On": "/",
                                    "Values": [
                                        BUCKET,
                                        {"Get": "Execution.PipelineExecutionId"},
                                        name,
                                        o,
                                    ],
                                }
                            },
                            "LocalPath": f"/opt/ml/processing/output/{o}",
                        },
                    }
                    for o in outputs
                ]
            },
        },
        "PropertyFiles": [
            {"PropertyFileName": "result", "OutputName": "out", "FilePath": "result.json"}
        ],
    }
    step.update(extra)
    return step


def make_folder(tmp_path: Path, steps: list[dict], scripts: dict[str, str], parameters=()) -> Path:
    folder = tmp_path / "pipeline"
    (folder / "steps").mkdir(parents=True)
    artifacts = {}
    for name, source in scripts.items():
        (folder / "steps" / name).write_text(textwrap.dedent(source))
        artifacts[f"{BUCKET}/code/{name}"] = f"steps/{name}"
    definition = {"Version": "2020-12-01", "Parameters": list(parameters), "Steps": steps}
    (folder / "definition.json").write_text(json.dumps(definition))
    (folder / "artifacts.json").write_text(json.dumps(artifacts))
    return folder


WRITE_RESULT = """
    import json, os, sys
    out = os.environ.get("BRIDGE_ML_ROOT", "/opt/ml") + "/processing/output/out"
    os.makedirs(out, exist_ok=True)
    json.dump({"value": float(sys.argv[1]) if len(sys.argv) > 1 else 1.0},
              open(out + "/result.json", "w"))
"""


def test_failing_script_fails_the_run_and_stops_downstream(tmp_path):
    folder = make_folder(
        tmp_path,
        [
            processing_step("boom", "boom.py"),
            processing_step("after", "ok.py", DependsOn=["boom"]),
            processing_step("independent", "ok.py"),
        ],
        {"boom.py": "raise SystemExit('the input is empty')", "ok.py": WRITE_RESULT},
    )
    record = run_local(folder)
    assert record.status == FAILED
    boom = record.steps["boom"]
    assert boom.status == FAILED and "AlgorithmError" in boom.reason
    assert "the input is empty" in boom.reason
    assert (Path(record.folder) / boom.log).read_text().count("the input is empty") == 1
    assert record.steps["after"].status == NOT_EXECUTED
    assert "boom" in record.message


def test_timeout_kills_the_step(tmp_path):
    step = processing_step("slow", "slow.py")
    step["Arguments"]["StoppingCondition"] = {"MaxRuntimeInSeconds": 1}
    folder = make_folder(tmp_path, [step], {"slow.py": "import time\ntime.sleep(30)\n"})
    record = run_local(folder)
    slow = record.steps["slow"]
    assert slow.status == FAILED
    assert "maximum runtime of 1 s" in slow.reason
    assert slow.duration < 10


def test_fail_step_fails_with_its_message(tmp_path):
    fail = {
        "Name": "stop",
        "Type": "Fail",
        "Arguments": {
            "ErrorMessage": {
                "Std:Join": {"On": " ", "Values": ["threshold", {"Get": "Parameters.limit"}]}
            }
        },
        "DependsOn": ["first"],
    }
    folder = make_folder(
        tmp_path,
        [processing_step("first", "ok.py"), fail],
        {"ok.py": WRITE_RESULT},
        parameters=[{"Name": "limit", "Type": "Float", "DefaultValue": 2.5}],
    )
    record = run_local(folder)
    assert record.status == FAILED
    assert record.steps["stop"].status == FAILED
    assert record.steps["stop"].reason == "threshold 2.5"


def test_retry_policy_retries_an_infrastructure_failure_then_succeeds(tmp_path):
    # The first attempt is killed (as by the OOM killer): a SERVICE_FAULT the policy covers.
    # Attempts of a job share nothing, so the script can only tell the first one by a marker on
    # this machine's disk: the run is not isolated.
    flaky = f"""
        import os, signal
        marker = {str(tmp_path / "attempted")!r}
        if not os.path.exists(marker):
            open(marker, "w").close()
            os.kill(os.getpid(), signal.SIGKILL)
        {textwrap.dedent(WRITE_RESULT).strip().replace(chr(10), chr(10) + " " * 8)}
    """
    policy = {
        "ExceptionType": ["Step.SERVICE_FAULT"],
        "IntervalSeconds": 0,
        "BackoffRate": 1.0,
        "MaxAttempts": 2,
    }
    folder = make_folder(
        tmp_path,
        [processing_step("flaky", "flaky.py", RetryPolicies=[policy])],
        {"flaky.py": flaky},
    )
    record = run_local(folder, RunOptions(isolation=False))
    assert record.status == SUCCEEDED, record.message
    assert record.steps["flaky"].attempts == 2
    assert "retry" in (Path(record.folder) / "logs/flaky.log").read_text()


def test_script_errors_are_not_retried(tmp_path):
    policy = {"ExceptionType": ["Step.SERVICE_FAULT"], "IntervalSeconds": 0, "MaxAttempts": 3}
    folder = make_folder(
        tmp_path,
        [processing_step("bad", "bad.py", RetryPolicies=[policy])],
        {"bad.py": "raise ValueError('bad data')"},
    )
    record = run_local(folder)
    assert record.steps["bad"].status == FAILED
    assert record.steps["bad"].attempts == 1  # SageMaker does not retry AlgorithmErrors


def test_missing_input_fails_the_step(tmp_path):
    missing = {
        "InputName": "raw",
        "S3Input": {"S3Uri": f"{BUCKET}/raw/nothing.csv", "LocalPath": "/opt/ml/processing/raw"},
    }
    folder = make_folder(
        tmp_path, [processing_step("read", "ok.py", inputs=[missing])], {"ok.py": WRITE_RESULT}
    )
    record = run_local(folder)
    assert record.steps["read"].status == FAILED
    assert (
        record.steps["read"].reason
        == f"ClientError: input raw: no object at {BUCKET}/raw/nothing.csv"
    )


def test_condition_reads_a_property_file_and_blocks_the_other_side(tmp_path):
    condition = {
        "Name": "good-enough",
        "Type": "Condition",
        "Arguments": {
            "Conditions": [
                {
                    "Type": "GreaterThanOrEqualTo",
                    "LeftValue": {
                        "Std:JsonGet": {
                            "PropertyFile": {"Get": "Steps.score.PropertyFiles.result"},
                            "Path": "value",
                        }
                    },
                    "RightValue": {"Get": "Parameters.bar"},
                }
            ],
            "IfSteps": [processing_step("ship", "ok.py")],
            "ElseSteps": [processing_step("alert", "ok.py")],
        },
    }
    score = processing_step("score", "ok.py")
    score["Arguments"]["AppSpecification"]["ContainerArguments"] = ["0.7"]
    after_ship = processing_step("announce", "ok.py", DependsOn=["ship"])
    folder = make_folder(
        tmp_path,
        [score, condition, after_ship],
        {"ok.py": WRITE_RESULT},
        parameters=[{"Name": "bar", "Type": "Float", "DefaultValue": 0.5}],
    )
    shipped = run_local(folder)
    assert shipped.steps["good-enough"].branch is True
    assert shipped.steps["ship"].status == SUCCEEDED
    assert shipped.steps["alert"].status == NOT_EXECUTED
    assert shipped.steps["announce"].status == SUCCEEDED
    held = run_local(folder, RunOptions(parameters={"bar": "0.9"}))
    assert held.steps["good-enough"].branch is False
    assert held.steps["alert"].status == SUCCEEDED
    assert {held.steps["ship"].status, held.steps["announce"].status} == {NOT_EXECUTED}
    assert "branch not taken" in held.steps["announce"].reason


def test_cache_hit_reuses_the_earlier_result(tmp_path):
    script = "print('computing the expensive result')\n" + textwrap.dedent(WRITE_RESULT)
    step = processing_step(
        "expensive", "expensive.py", CacheConfig={"Enabled": True, "ExpireAfter": "PT1H"}
    )
    consumer = processing_step(
        "consumer",
        "ok.py",
        inputs=[
            {
                "InputName": "upstream",
                "S3Input": {
                    "S3Uri": {
                        "Get": "Steps.expensive.ProcessingOutputConfig.Outputs['out'].S3Output.S3Uri"
                    },
                    "LocalPath": "/opt/ml/processing/input/upstream",
                },
            }
        ],
    )
    folder = make_folder(
        tmp_path, [step, consumer], {"expensive.py": script, "ok.py": WRITE_RESULT}
    )
    first = run_local(folder)
    second = run_local(folder)
    assert first.status == second.status == SUCCEEDED
    logs = [Path(r.folder) / "logs" / "expensive.log" for r in (first, second)]
    assert "computing" in logs[0].read_text()
    assert not logs[1].exists()  # the second run did not execute the script
    assert second.steps["expensive"].cached and not first.steps["expensive"].cached
    assert second.steps["consumer"].status == SUCCEEDED  # it read the cached step's output


def test_lambda_step_calls_the_emitted_handler(tmp_path):
    handler = """
        def handler(event, context):
            return {"doubled": event["n"] * 2, "note": "ok"}
    """
    step = {
        "Name": "double",
        "Type": "Lambda",
        "FunctionArn": "arn:aws:lambda:us-east-1:123:function:double",
        "OutputParameters": [{"OutputName": "doubled", "OutputType": "Integer"}],
        "Arguments": {"n": {"Get": "Parameters.n"}},
    }
    fail = {
        "Name": "check",
        "Type": "Fail",
        "Arguments": {
            "ErrorMessage": {
                "Std:Join": {
                    "On": "=",
                    "Values": ["doubled", {"Get": "Steps.double.OutputParameters['doubled']"}],
                }
            }
        },
    }
    folder = make_folder(
        tmp_path,
        [step, fail],
        {"double_handler.py": handler},
        parameters=[{"Name": "n", "Type": "Integer", "DefaultValue": 21}],
    )
    manifest = {
        "steps": {"double": {"script": "double_handler.py", "handler": "double_handler.handler"}}
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    record = run_local(folder)
    assert record.steps["double"].status == SUCCEEDED
    assert record.steps["check"].reason == "doubled=42"


def test_unknown_step_type_is_not_runnable_and_the_rest_goes_on(tmp_path):
    emr = {"Name": "spark", "Type": "EMR", "Arguments": {"ClusterId": "j-1", "StepConfig": {}}}
    folder = make_folder(
        tmp_path,
        [
            emr,
            processing_step("after", "ok.py", DependsOn=["spark"]),
            processing_step("other", "ok.py"),
        ],
        {"ok.py": WRITE_RESULT},
    )
    record = run_local(folder)
    assert record.status == SUCCEEDED and record.partial
    assert record.steps["spark"].status == NOT_RUNNABLE
    assert record.steps["after"].status == NOT_EXECUTED
    assert record.steps["other"].status == SUCCEEDED


def test_parameters_are_typed_and_checked(tmp_path):
    folder = make_folder(
        tmp_path,
        [processing_step("a", "ok.py")],
        {"ok.py": WRITE_RESULT},
        parameters=[{"Name": "n", "Type": "Integer", "DefaultValue": 1}],
    )
    with pytest.raises(RunError, match="not a valid Integer"):
        run_local(folder, RunOptions(parameters={"n": "many"}))
    with pytest.raises(RunError, match="unknown parameter"):
        run_local(folder, RunOptions(parameters={"m": "1"}))
    assert run_local(folder, RunOptions(parameters={"n": "3"})).parameters == {"n": 3}
