"""deploy/: a GitHub Actions workflow and an AWS CodeBuild buildspec that deploy the pipeline
when a change to its folder is merged to main: `bridge validate <folder>`, then
`python pipeline.py --upsert --role "$SAGEMAKER_ROLE_ARN"`, with AWS credentials from the CI's
own role (iam/deploy-role-policy.json, written by validate).

The files are templates (templates/deploy/) filled with jinja2 under delimiters that YAML, shell
and GitHub expressions never use (`{= ... =}`); every value goes through the filter for where it
lands: `yaml` (a JSON string, which YAML reads as a double-quoted scalar) or `comment` (one
line). Values from the DAG reach them only as the pipeline name (letters, digits and `-`) and
the folder path (checked against a plain character set, else the folder's own safe name), so
nothing from a DAG can become a `${{ }}` expression or a shell word.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from bridge import quoting

DEPLOY_DIR = "deploy"
BUILDSPEC = "buildspec.yml"
TEMPLATES = Path(__file__).parent / "templates" / "deploy"
# What `pip install` installs in CI: the bridge with what `bridge validate` needs.
REQUIREMENT = "airflow-sagemaker-bridge[validate]"
# A folder path written as is: no character YAML, a shell or a glob reads specially.
_PLAIN_PATH = re.compile(r"[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*")


def workflow_name(pipeline: str) -> str:
    """The workflow's file name, distinct per pipeline once copied to .github/workflows/; a long
    pipeline name (up to 256 characters) is cut and ends in a short hash of it."""
    stem = f"deploy-{pipeline}"
    if len(stem) > 100:
        stem = f"{stem[:90]}-{quoting.short_hash(pipeline)}"
    return f"{stem}.yml"


@dataclass(frozen=True)
class DeploySettings:
    pipeline: str
    dag_id: str
    folder: str  # the output folder from the repository root, POSIX separators
    requirement: str = REQUIREMENT

    @property
    def webhook_filters(self) -> str:
        """CodeBuild webhook filter groups: pushes to main that touch the folder."""
        groups = [
            [
                {"type": "EVENT", "pattern": "PUSH"},
                {"type": "HEAD_REF", "pattern": "^refs/heads/main$"},
                {"type": "FILE_PATH", "pattern": "^" + re.escape(self.folder) + "/"},
            ]
        ]
        return json.dumps(groups, separators=(",", ":"))


def repository_path(folder: Path) -> str:
    """The folder's path from the root of the git repository it is in (where the workflow
    runs), else from the working directory; its own name when neither holds it or the path
    has characters that would need quoting."""
    folder = folder.resolve()
    roots = [p for p in folder.parents if (p / ".git").exists()][:1] + [Path.cwd().resolve()]
    for root in roots:
        if folder.is_relative_to(root) and folder != root:
            path = folder.relative_to(root).as_posix()
            if _PLAIN_PATH.fullmatch(path) and ".." not in path.split("/"):
                return path
    return folder.name


def yaml_scalar(value: str) -> str:
    """A YAML double-quoted scalar: JSON's string syntax is YAML's (ASCII, escapes)."""
    return json.dumps(str(value))


def render(template: str, settings: DeploySettings) -> str:
    import jinja2  # only when writing an output folder: the CLI starts without it

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        variable_start_string="{=",
        variable_end_string="=}",
        comment_start_string="{=#",
        comment_end_string="#=}",
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters["yaml"] = yaml_scalar
    env.filters["comment"] = quoting.comment
    values = {**asdict(settings), "webhook_filters": settings.webhook_filters}
    return env.get_template(template).render(**values)


def write_deploy_files(folder: Path, pipeline: str, dag_id: str) -> None:
    """deploy/deploy-<pipeline>.yml (the GitHub Actions workflow) and deploy/buildspec.yml."""
    settings = DeploySettings(pipeline=pipeline, dag_id=dag_id, folder=repository_path(folder))
    out = folder / DEPLOY_DIR
    out.mkdir(exist_ok=True)
    files = {workflow_name(pipeline): "github-workflow.yml", BUILDSPEC: "buildspec.yml"}
    for name, template in files.items():
        (out / name).write_text(render(template, settings), encoding="utf-8")
