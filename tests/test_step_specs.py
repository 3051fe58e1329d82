"""Typed step specs: a misspelt field fails where the spec is built, and every rule builds them."""

from __future__ import annotations

from dataclasses import FrozenInstanceError, replace

import pytest

from bridge.parse.dag_file import parse_source
from bridge.translate.engine import translate_dag
from bridge.translate.step_specs import (
    SPEC_TYPES,
    ConditionSpec,
    EMRSpec,
    FailSpec,
    JobSpec,
    LambdaSpec,
    PlaceholderSpec,
    ProcessingSpec,
    ScriptSpec,
)
from translators.registry import Registry, StepDraft

REGISTRY = Registry.default()
KIND_SPECS = {
    "Condition": (ConditionSpec,),
    "Fail": (FailSpec,),
    "Placeholder": (PlaceholderSpec,),
    "Lambda": (LambdaSpec,),
    "EMR": (EMRSpec,),
    "Processing": (ProcessingSpec, JobSpec),
}


@pytest.mark.parametrize(
    "build",
    [
        lambda: ScriptSpec(mode="python", entyr="main"),
        lambda: ProcessingSpec(scirpt=None),
        lambda: FailSpec(mesage="boom"),
        lambda: ConditionSpec(condition=[]),
        lambda: LambdaSpec(function={"arn": "x"}, input={}),
        lambda: EMRSpec(step={}, cluster="j-1"),
        lambda: JobSpec(job="training", config={}, rawconfig={}),
        lambda: PlaceholderSpec(operator="x", sorce=""),
        lambda: StepDraft("Fail", {"mesage": "boom"}),  # a rule still handing a dictionary
        lambda: StepDraft("Processing", {"script": {"mode": "python", "entyr": "main"}}),
    ],
)
def test_a_misspelt_field_is_a_type_error(build):
    with pytest.raises(TypeError):
        build()


def test_specs_are_frozen_and_keep_their_old_dictionary_form():
    script = ScriptSpec(mode="bash", entry=None, body=None)
    with pytest.raises(FrozenInstanceError):
        script.file = "x.py"  # type: ignore[misc]
    spec = ProcessingSpec(script=replace(script, file="a.py"), call={"reads": []}, image="bash")
    assert spec.to_dict() == {
        "script": {"mode": "bash", "entry": None, "body": None, "file": "a.py"},
        "call": {"reads": []},
        "image": "bash",
    }
    assert FailSpec().to_dict() == {}
    assert EMRSpec(cluster_id="j-1", step={"jar": "x"}).to_dict() == {
        "cluster_id": "j-1",
        "step": {"jar": "x"},
    }
    # A dictionary spec (rules written before the typed specs) becomes the typed spec.
    draft = StepDraft("Processing", {"script": {"mode": "python", "entry": "f", "body": "x"}})
    assert isinstance(draft.spec, ProcessingSpec) and draft.spec.script.entry == "f"
    assert isinstance(StepDraft("Fail").spec, FailSpec)


def test_every_rule_example_builds_typed_specs():
    kinds = set()
    for r in REGISTRY.rules:
        for example in r.examples:
            (dag,) = parse_source(example.dag).dags
            pipeline = translate_dag(dag, REGISTRY, source=example.dag)
            for step in pipeline.steps.values():
                assert isinstance(step.spec, SPEC_TYPES), (example.title, step.name)
                allowed = KIND_SPECS.get(step.kind, (JobSpec,))
                assert isinstance(step.spec, allowed), (example.title, step.name, step.kind)
                if isinstance(step.spec, ProcessingSpec) and step.spec.script is not None:
                    assert isinstance(step.spec.script, ScriptSpec)
                kinds.add(type(step.spec))
    assert kinds >= {ProcessingSpec, ConditionSpec, LambdaSpec, EMRSpec, JobSpec, PlaceholderSpec}
