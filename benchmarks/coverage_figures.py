"""Coverage of the real-DAG corpus (benchmarks/corpus): what bench_coverage.py prints and what
tests/test_corpus_real.py holds against its floor (issue 15: "no placeholder for a task that can
run").

Every corpus file is translated as `bridge translate` does, then every output folder is
validated. The figures count tasks by fidelity per operator family, and DAGs by whether they
translate with no placeholder and whether their definition validates. A DAG the manifest expects
but the parser does not find counts as a DAG that failed both.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

CORPUS = Path(__file__).resolve().parent / "corpus"
DAGS = CORPUS / "dags"
MANIFEST = CORPUS / "manifest.json"

_SAGEMAKER = "airflow.providers.amazon.aws.operators.sagemaker"
# The SageMaker job and model operators that issue 15 wants as native pipeline steps.
SAGEMAKER_JOB_OPERATORS = frozenset(
    f"{_SAGEMAKER}.SageMaker{name}Operator"
    for name in (
        "Training",
        "Processing",
        "Transform",
        "Tuning",
        "Model",
        "EndpointConfig",
        "Endpoint",
        "RegisterModelVersion",
        "AutoML",
    )
)
# Top-level packages outside Airflow that ship operators; any other non-Airflow class is the
# DAG repository's own code.
THIRD_PARTY = frozenset(
    {
        "astro",
        "astronomer",
        "cosmos",
        "great_expectations_provider",
        "airflow_dbt",
        "dagfactory",
        "sagemaker",
    }
)
# Words that end a provider's name inside its package path.
_PROVIDER_PARTS = frozenset(
    {"operators", "sensors", "transfers", "decorators", "hooks", "triggers", "utils", "links"}
)
_COUNTS = ("tasks", "exact", "approximate", "manual")


@dataclass(frozen=True)
class CorpusFile:
    file: str  # relative to benchmarks/corpus/dags
    dags: int  # DAGs the file defines (read by hand; the parser may find fewer)
    vendored: bool  # committed (a PyPI release's bytes); else fetched from GitHub by fetch.py

    @property
    def path(self) -> Path:
        return DAGS / self.file


def corpus_files(fetched: bool = True) -> list[CorpusFile]:
    """The manifest's files, in manifest order: the vendored ones, and (`fetched`) the ones
    `benchmarks/corpus/fetch.py` downloaded, when they are here."""
    entries = json.loads(MANIFEST.read_text())
    files = [CorpusFile(e["file"], e["dags"], e["vendored"]) for e in entries]
    return [f for f in files if f.vendored or (fetched and f.path.exists())]


def translate_corpus(out: Path, validate: bool = True, fetched: bool = True):
    """Translate every corpus file into `out`; (files, outcomes, verdicts). Verdicts are keyed by
    absolute output folder ({} when `validate` is False)."""
    from bridge.config import BridgeConfig
    from bridge.emit.translate_files import translate_file
    from bridge.emit.validate import validate_folders
    from translators.registry import Registry

    files = corpus_files(fetched)
    registry = Registry.default()
    outcomes = [translate_file(f.path, registry, BridgeConfig(), out) for f in files]
    folders = [d.folder for o in outcomes for d in o.dags if d.folder is not None]
    verdicts = validate_folders(folders) if validate and folders else {}
    return files, outcomes, verdicts


def family(operator: str) -> str:
    """The operator family of a canonical class name: `amazon.s3`, `standard.bash`, `core.empty`,
    `taskflow`, `other provider: cncf.kubernetes`, `other package: cosmos`, `repo-local`."""
    parts = operator.split(".")
    if operator == "airflow.sdk.task" or operator.startswith("airflow.sdk.task."):
        return "taskflow"
    if operator.startswith("airflow.providers.standard.operators.empty."):
        return "core.empty"
    if operator.startswith("airflow.providers."):
        name = _provider_name(parts[2:-1])
        if name == "amazon.aws":
            return "amazon." + _amazon_service(parts)
        if name == "standard":
            return "standard." + parts[-2]
        return f"other provider: {name}"
    if parts[0] == "airflow":
        return "core." + (parts[-2] if len(parts) > 2 else parts[-1])
    if parts[0] in THIRD_PARTY:
        return f"other package: {parts[0]}"
    return "repo-local"


def _provider_name(path: list[str]) -> str:
    """`cncf.kubernetes` of [cncf, kubernetes, operators, pod]."""
    name: list[str] = []
    for part in path:
        if part in _PROVIDER_PARTS:
            break
        name.append(part)
    return ".".join(name) or "?"


def _amazon_service(parts: list[str]) -> str:
    """`s3` of airflow.providers.amazon.aws.operators.s3.S3CreateBucketOperator; transfers
    (s3_to_sql, ...) are one family."""
    if len(parts) < 7:
        return "aws"
    return "transfers" if parts[4] == "transfers" else parts[-2]


def coverage_figures(files, outcomes, verdicts) -> dict:
    """The corpus figures as one JSON-ready dictionary (see module docstring)."""
    families: dict[str, Counter] = defaultdict(Counter)
    manual_ops: Counter = Counter()
    sagemaker = Counter()
    dags: list[dict] = []
    missing: list[dict] = []
    for corpus_file, outcome in zip(files, outcomes, strict=True):
        for dag in outcome.dags:
            dags.append(_dag_figures(corpus_file.file, dag, verdicts))
            for task in dag.pipeline.outcomes.values() if dag.pipeline else []:
                counts = families[family(task.operator)]
                counts["tasks"] += 1
                counts[task.fidelity] += 1
                if task.fidelity == "manual":
                    manual_ops[task.operator] += 1
                if task.operator in SAGEMAKER_JOB_OPERATORS:
                    sagemaker["total"] += 1
                    sagemaker["native"] += _is_native(dag.pipeline, task)
        short = corpus_file.dags - len(outcome.dags)
        if short > 0:
            missing.append({"file": corpus_file.file, "dags_not_found": short})
    total = Counter()
    for counts in families.values():
        total.update(counts)
    n_dags = len(dags) + sum(m["dags_not_found"] for m in missing)
    no_placeholder = sum(d["placeholders"] == 0 and d["translated"] for d in dags)
    validated = sum(d["validated"] is True for d in dags)
    return {
        "files": len(files),
        "fetched_files": sum(not f.vendored for f in files),
        "dags": n_dags,
        "dags_found": len(dags),
        **{c: total[c] for c in _COUNTS},
        "manual_pct": _pct(total["manual"], total["tasks"]),
        "families": sorted(
            (
                {"family": name, **{c: counts[c] for c in _COUNTS}}
                for name, counts in families.items()
            ),
            key=lambda r: (-r["tasks"], r["family"]),
        ),
        "placeholder_free_dags": no_placeholder,
        "placeholder_free_pct": _pct(no_placeholder, n_dags),
        "sagemaker_native": sagemaker["native"],
        "sagemaker_jobs": sagemaker["total"],
        "sagemaker_native_pct": _pct(sagemaker["native"], sagemaker["total"]),
        "validated_dags": validated,
        "validated_pct": _pct(validated, n_dags),
        "validation_skipped": any(v.get("ok") is None for v in verdicts.values()) or not verdicts,
        "top_manual": [{"operator": op, "tasks": n} for op, n in _top(manual_ops, 25)],
        "dags_not_found": missing,
        "per_dag": dags,
    }


def _dag_figures(file: str, dag, verdicts: dict) -> dict:
    tasks = dag.pipeline.outcomes.values() if dag.pipeline else []
    verdict = verdicts.get(str(dag.folder.resolve())) if dag.folder is not None else None
    return {
        "file": file,
        "dag_id": dag.dag_id,
        "translated": dag.pipeline is not None,
        "tasks": len(tasks),
        "manual": sum(t.fidelity == "manual" for t in tasks),
        # A task the bridge could not translate keeps its place as a Placeholder FailStep, also
        # when a rule declines it (fate "step", fidelity manual): both count.
        "placeholders": sum(_has_placeholder(dag.pipeline, t) for t in tasks),
        "validated": None if verdict is None else verdict.get("ok"),
        "problems": [] if verdict is None else verdict.get("problems", [])[:3],
    }


def _has_placeholder(pipeline, task) -> bool:
    steps = [pipeline.steps[name] for name in task.steps if name in pipeline.steps]
    return task.fate == "placeholder" or any(s.kind == "Placeholder" for s in steps)


def _is_native(pipeline, task) -> bool:
    """The task became SageMaker's own step(s) for its job (not a placeholder or a wrapper)."""
    from bridge.translate.step_specs import JobSpec

    if task.fate != "step":
        return False
    steps = [pipeline.steps[name] for name in task.steps if name in pipeline.steps]
    return bool(steps) and all(isinstance(s.spec, JobSpec) for s in steps)


def _pct(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 1) if whole else 0.0


def _top(counter: Counter, n: int) -> list[tuple[str, int]]:
    return sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:n]


def render_text(figures: dict) -> str:
    """The figures as the plain report bench_coverage.py prints."""
    rows = figures["families"]
    width = max([len("family"), *(len(r["family"]) for r in rows)])
    lines = [f"{'family':<{width}}  {'tasks':>6} {'exact':>6} {'approx':>6} {'manual':>6}"]
    for r in [*rows, {"family": "TOTAL", **{c: figures[c] for c in _COUNTS}}]:
        lines.append(
            f"{r['family']:<{width}}  {r['tasks']:>6} {r['exact']:>6} "
            f"{r['approximate']:>6} {r['manual']:>6}"
        )
    from bridge.quoting import one_line

    f = figures
    validated = "not run" if f["validation_skipped"] else f"{f['validated_dags']}/{f['dags']}"
    lines += [
        "",
        f"files {f['files']} ({f['fetched_files']} fetched from GitHub), DAGs {f['dags']} "
        f"({f['dags_found']} found by the parser)",
        f"tasks left manual              {f['manual']}/{f['tasks']}  {f['manual_pct']:5.1f} %"
        "   (target <= 10 %)",
        f"DAGs with no placeholder       {f['placeholder_free_dags']}/{f['dags']}  "
        f"{f['placeholder_free_pct']:5.1f} %   (target >= 80 %)",
        f"SageMaker jobs as native steps {f['sagemaker_native']}/{f['sagemaker_jobs']}  "
        f"{f['sagemaker_native_pct']:5.1f} %   (target >= 90 %)",
        f"DAGs with a valid definition   {validated}  {f['validated_pct']:5.1f} %   (target >= 97 %)",
    ]
    if f["dags_not_found"]:
        lines += ["", "files whose DAGs the parser did not (all) find:"]
        lines += [f"  {m['file']}  ({m['dags_not_found']} missing)" for m in f["dags_not_found"]]
    invalid = [d for d in f["per_dag"] if d["validated"] is False]
    if invalid:
        lines += ["", "DAGs whose definition did not validate:"]
        for d in invalid:  # dag ids and problems come from the DAG files: one terminal line each
            problems = " ".join("; ".join(d["problems"]).split())[:160]
            lines.append(one_line(f"  {d['file']} {d['dag_id']}: {problems}"))
    lines += ["", "operators left manual (top 25):"]
    lines += [f"  {r['tasks']:>4}  {r['operator']}" for r in f["top_manual"]]
    return "\n".join(lines)
