"""`bridge compare DAG_FILE...`: run the original DAG under Airflow and its translation with
`bridge run`, on the same params, logical date and input data, and compare them.

Layout of one comparison (OUT/<dag_id>/compare/<stamp>/):
  airflow/            the Airflow run: run.json, logs/, data/ (its $BRIDGE_DATA_DIR)
  pipeline/           the pipeline run: <execution id>/ (run.json, logs, steps), store/
                      (its steps share no folder: each is a job with its own file system)
  compare.json        the comparison (schema: bridge/compare/checks.py, docs/compare.md)
  compare.html        the same, drawn side by side, self-contained
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bridge.compare.checks import compare_runs
from bridge.run.engine import RunError, RunOptions, run_local, typed_parameters
from bridge.run.record import RunRecord


@dataclass
class CompareOptions:
    out: Path = Path("out")
    params: dict[str, str] = field(default_factory=dict)  # DAG param name -> text
    logical_date: str | None = None  # ISO; default: today 00:00 UTC
    # The Airflow run's input folder (next to its DAG copy); default: the `data` folder next to
    # the DAG file, if any. The pipeline's steps get the DAG's data as job inputs instead.
    input_dir: Path | None = None
    tolerance: float = 1e-9
    reuse: bool = False  # use OUT/<dag_id> as translated earlier
    step_timeout: float = 3600.0
    isolation: bool = True  # the pipeline's script jobs in sandboxes
    seeds: dict[str, str] = field(default_factory=dict)
    airflow_home: Path | None = None
    on_event: Any = None  # progress of the pipeline run


@dataclass
class Prepared:
    dag_id: str
    dag_file: Path
    folder: Path  # OUT/<dag_id>
    manifest: dict
    definition: dict
    compare_dir: Path
    input_dir: Path | None


def prepare(dag_files: list[Path], options: CompareOptions) -> list[Prepared]:
    """Translate (or reuse) each DAG file's DAGs and make their comparison folders."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    folders = _translated(dag_files, options)
    prepared = []
    for dag_file, folder in folders:
        manifest = json.loads((folder / "manifest.json").read_text())
        definition = json.loads((folder / "definition.json").read_text())
        default_input = dag_file.resolve().parent / "data"
        input_dir = options.input_dir or (default_input if default_input.is_dir() else None)
        compare_dir = folder.resolve() / "compare" / stamp
        compare_dir.mkdir(parents=True, exist_ok=True)
        prepared.append(
            Prepared(
                manifest["dag_id"], dag_file, folder, manifest, definition, compare_dir, input_dir
            )
        )
    return prepared


def _translated(dag_files: list[Path], options: CompareOptions) -> list[tuple[Path, Path]]:
    from bridge.config import load_config
    from bridge.emit.folder import OutputClaims, output_folder_name
    from bridge.emit.translate_files import translate_file
    from bridge.emit.validate import validate_folders
    from bridge.parse.dag_file import parse_file
    from translators.registry import Registry

    pairs: list[tuple[Path, Path]] = []
    fresh: list[Path] = []
    registry = config = None
    claims = OutputClaims()
    for dag_file in dag_files:
        ids = [d.dag_id for d in parse_file(dag_file).dags]
        if not ids:
            raise RunError("BRG303", f"{dag_file}: no DAG found to compare")
        folders = [options.out / output_folder_name(i) for i in ids]
        reusable = [f for f in folders if (f / "definition.json").is_file()]
        if options.reuse and len(reusable) == len(ids):
            pairs += [(dag_file, f) for f in reusable]
            continue
        if registry is None:
            config, registry = load_config(None, start=dag_file.parent), Registry.default()
        outcome = translate_file(dag_file, registry, config, options.out, claims)
        for dag in outcome.dags:
            if dag.folder is None:
                raise RunError("BRG303", f"{dag_file}: DAG {dag.dag_id} could not be translated")
            pairs.append((dag_file, dag.folder))
            fresh.append(dag.folder)
    if fresh:
        verdicts = validate_folders(fresh)
        skipped = [v["skipped"] for v in verdicts.values() if v.get("skipped")]
        if skipped:
            raise RunError("BRG215", f"compare needs definition.json: {skipped[0]}")
        broken = [f for f, v in verdicts.items() if not v["ok"]]
        if broken:
            problems = verdicts[broken[0]]["problems"]
            raise RunError("BRG209", f"{broken[0]}: {'; '.join(problems)[:500]}")
    return pairs


def dag_param_names(manifest: dict) -> dict[str, str]:
    """DAG param name -> the pipeline parameter it became."""
    return {
        p["airflow"].strip("{} ").removeprefix("params."): p["name"]
        for p in manifest.get("parameters") or []
        if p.get("source") == "dag_param"
    }


def airflow_params(manifest: dict, definition: dict, given: dict[str, str]) -> dict[str, Any]:
    """CLI text for DAG params, typed as the DAG declares them (Airflow validates params)."""
    by_airflow = dag_param_names(manifest)
    unknown = sorted(set(given) - set(by_airflow))
    if unknown:
        raise RunError(
            "BRG301",
            f"unknown DAG param(s) {', '.join(unknown)}; the DAG has: "
            + (", ".join(sorted(by_airflow)) or "none"),
        )
    typed = typed_parameters(definition, {by_airflow[k]: v for k, v in given.items()})
    json_text = {p["name"] for p in manifest.get("parameters") or [] if p.get("json_text")}
    values = {}
    for name in given:
        value = typed[by_airflow[name]]
        if by_airflow[name] in json_text:
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                raise RunError("BRG301", f"--param {name}: expected JSON, got {value!r}") from None
        values[name] = value
    return values


def logical_date(text: str | None) -> datetime:
    if not text:
        return datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise RunError("BRG301", f"--logical-date {text!r}: expected an ISO date") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def context_values(manifest: dict, when: datetime) -> dict[str, str]:
    """The pipeline parameters the Airflow operator would fill from the run's context, for a
    run at `when` (a manual run: the data interval starts and ends at the logical date)."""
    import jinja2

    context = {
        "ds": when.strftime("%Y-%m-%d"),
        "ds_nodash": when.strftime("%Y%m%d"),
        "ts": when.isoformat(),
        "ts_nodash": when.strftime("%Y%m%dT%H%M%S"),
        "ts_nodash_with_tz": when.strftime("%Y%m%dT%H%M%S%z"),
        "logical_date": when.isoformat(),
        "data_interval_start": when.isoformat(),
        "data_interval_end": when.isoformat(),
    }
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    values = {}
    for template, name in (manifest.get("context_parameters") or {}).items():
        try:
            values[name] = env.from_string(template).render(context)
        except jinja2.TemplateError:
            continue  # left at its default; the report lists the parameters used
    return values


def compare_dags(dag_files: list[Path], options: CompareOptions) -> list[dict]:
    """Run everything and write compare.json / compare.html for each DAG; the comparisons."""
    from bridge.compare.airflow_run import AirflowRunRequest, run_dags
    from bridge.compare.html import render_html

    prepared = prepare(dag_files, options)
    when = logical_date(options.logical_date)
    typed = {p.dag_id: airflow_params(p.manifest, p.definition, options.params) for p in prepared}
    requests = [
        AirflowRunRequest(
            dag_file=p.dag_file,
            dag_id=p.dag_id,
            run_folder=p.compare_dir / "airflow",
            params=typed[p.dag_id],
            logical_date=when.isoformat(),
            data_dir=p.compare_dir / "airflow" / "data",
            input_dir=p.input_dir,
        )
        for p in prepared
    ]
    airflow_runs = run_dags(requests, airflow_home=options.airflow_home)
    comparisons = []
    for p, airflow in zip(prepared, airflow_runs, strict=True):
        pipeline = run_pipeline(p, options, typed[p.dag_id], when)
        comparison = compare_runs(p.manifest, airflow, pipeline, tolerance=options.tolerance)
        comparison["logical_date"] = when.isoformat()
        comparison["folder"] = str(p.compare_dir)
        (p.compare_dir / "compare.json").write_text(
            json.dumps(comparison, indent=2, sort_keys=True, default=str) + "\n"
        )
        (p.compare_dir / "compare.html").write_text(render_html(comparison), encoding="utf-8")
        comparisons.append(comparison)
    return comparisons


def run_pipeline(
    p: Prepared, options: CompareOptions, params: dict[str, Any], when: datetime
) -> RunRecord:
    by_airflow = dag_param_names(p.manifest)
    values = {by_airflow[k]: v for k, v in params.items()}
    values.update(context_values(p.manifest, when))
    run_root = p.compare_dir / "pipeline"
    return run_local(
        p.folder,
        RunOptions(
            parameters=values,
            run_root=run_root,
            store=run_root / "store",
            step_timeout=options.step_timeout,
            isolation=options.isolation,
            seeds=options.seeds,
            on_event=options.on_event,
        ),
    )
