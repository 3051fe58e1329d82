"""What every SageMaker job module shares: the job kinds, their step classes and owned
fields, and `JobCode`, the source one job's step arguments are built by.
"""

from __future__ import annotations

from dataclasses import dataclass, field

JOBS = (
    "processing",
    "training",
    "transform",
    "tuning",
    "model",
    "endpoint_config",
    "endpoint",
    "register_model",
)

STEP_CLASSES = {
    "processing": "ProcessingStep",
    "training": "TrainingStep",
    "transform": "TransformStep",
    "tuning": "TuningStep",
    "model": "ModelStep",
    "endpoint_config": "EndpointConfigStep",
    "endpoint": "EndpointStep",
    "register_model": "ModelStep",
}
"""Step class per job; all importable from ``sagemaker.mlops.workflow``."""

OPERATOR_JOBS = {
    "SageMakerProcessingOperator": "processing",
    "SageMakerTrainingOperator": "training",
    "SageMakerTransformOperator": "transform",
    "SageMakerTuningOperator": "tuning",
    "SageMakerModelOperator": "model",
    "SageMakerEndpointConfigOperator": "endpoint_config",
    "SageMakerEndpointOperator": "endpoint",
    "SageMakerRegisterModelVersionOperator": "register_model",
}

OWNED = {
    "processing": {"ProcessingJobName"},
    "training": {"TrainingJobName"},
    "transform": {"TransformJobName"},
    "tuning": {"HyperParameterTuningJobName"},
    "model": {"ModelName"},
    "endpoint_config": set(),
    "endpoint": set(),
    "register_model": {"ModelPackageName"},
}


@dataclass
class JobCode:
    """Python source (SDK v3) that builds one pipeline step's ``step_args``."""

    step_class: str
    """The step to wrap the args in: ``{step_class}(name=..., step_args={var}_args)``."""
    imports: list[str]
    """Import lines the code needs, one name per line (merge and sort freely)."""
    code: str
    """Statements that assign ``{var}_args``; they use the in-scope ``session`` (a
    PipelineSession) and ``role`` (the pipeline's default role ARN), and for an AWS image in the
    session's region pipeline.py's ``REGION`` (see bridge.emit.jobs.practices)."""
    differences: list[str] = field(default_factory=list)
    """Config fields the classes could not reproduce exactly, one sentence each."""
    owned: list[str] = field(default_factory=list)
    """Config fields the pipeline owns and drops on purpose (job names)."""
    notes: list[str] = field(default_factory=list)
    """What the configuration changed on purpose (`practices`), one sentence each."""

    @property
    def exact(self) -> bool:
        return not self.differences

    def source(self) -> str:
        """Imports and code as one block (handy for tests and previews)."""
        return "\n".join([*self.imports, "", self.code])


def owned_fields(job: str) -> set[str]:
    """Config fields of this job that the pipeline owns (drops from Arguments on purpose)."""
    check_job(job)
    return set(OWNED[job])


def check_job(job: str) -> None:
    if job not in OWNED:
        raise ValueError(f"unknown SageMaker job {job!r}; expected one of {', '.join(JOBS)}")
