"""The CloudWatch Logs side of `bridge serve`: the logs of the jobs its executions ran.

SageMaker sends a job's stdout and stderr to CloudWatch Logs: the log group of the job's kind
(`/aws/sagemaker/ProcessingJobs`, `/aws/sagemaker/TrainingJobs`), one stream per instance named
`<job name>/<host>`. Here each Processing or Training job the server ran has one stream,
`<job name>/algo-1` (the name DescribeProcessingJob / DescribeTrainingJob give), whose events are
the lines of its step's log in the run folder: what the job's processes wrote (without the
runner's `$ <command>` line before each attempt), one event per non-empty line. While the job
runs, an unfinished last line waits for its end of line.

The runner writes no times, so each stretch of a log is stamped with the file's modification
time when the server first reads it: read while the job runs, the times follow the writes; read
after it ended, they are its last write's; once given, an event's time never changes.

Actions (AWS JSON 1.1, `X-Amz-Target: Logs_20140328.<Action>`): DescribeLogStreams and
GetLogEvents, with CloudWatch's errors (ResourceNotFoundException, InvalidParameterException,
SerializationException). GetLogEvents' tokens are byte positions in the log (`f/<n>`, `b/<n>`),
so a page boundary stays put while the job writes on, and a read past the end answers the
nextForwardToken it was given: readers such as the Amazon provider's AwsLogsHook stop on that.
"""

from __future__ import annotations

import os
from bisect import bisect_left
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from bridge.serve.api import page
from bridge.serve.errors import ApiError
from bridge.serve.state import ACCOUNT, Job, ServeState

TARGET_PREFIX = "Logs_20140328"  # the X-Amz-Target service of CloudWatch Logs' JSON protocol
LOG_GROUPS = {
    "Processing": "/aws/sagemaker/ProcessingJobs",
    "Training": "/aws/sagemaker/TrainingJobs",
}
HOST = "algo-1"  # the one instance a local job runs on
MAX_STREAMS = 50  # DescribeLogStreams' largest page
MAX_EVENTS = 10_000  # GetLogEvents' largest page
MAX_PAGE_BYTES = 1024 * 1024  # of a GetLogEvents page: messages plus 26 bytes each, as CloudWatch
EVENT_OVERHEAD = 26
MAX_MESSAGE = 256 * 1024 - EVENT_OVERHEAD  # bytes of one event, as CloudWatch takes them
MAX_LOG = 32 * 1024 * 1024  # the end of a log served as its stream (older lines are dropped)
_SCAN = 64 * 1024  # bytes read at a time looking back for the last end of line
# The runner's own lines in a step log (bridge/run/steps.py, engine.py): the `$ <command>` it
# writes where each attempt starts (the log's first line, and the line after its note that an
# attempt failed) is not the job's output, and names this machine's paths; the note stays.
_COMMAND, _RETRY_NOTE = b"$ ", b"bridge: attempt "

ACTIONS: dict[str, Callable[[ServeState, dict], dict]] = {}


def action(fn):
    ACTIONS["".join(part.title() for part in fn.__name__.split("_"))] = fn
    return fn


class Event(NamedTuple):
    offset: int  # where its line starts in the log: its position for the tokens
    end: int  # where the next line starts
    timestamp: int  # epoch milliseconds
    message: str


# ---- request checks ---------------------------------------------------------------------------

# The JSON type of each request member the actions read (botocore's logs model) and, for
# strings, their longest: another type is refused as CloudWatch refuses it.
REQUEST_FIELDS: dict[str, tuple[type, int]] = {
    "logGroupName": (str, 512),
    "logGroupIdentifier": (str, 2048),
    "logStreamName": (str, 512),
    "logStreamNamePrefix": (str, 512),
    "orderBy": (str, 32),
    "nextToken": (str, 8192),
    "descending": (bool, 0),
    "startFromHead": (bool, 0),
    "unmask": (bool, 0),
    "limit": (int, 0),
    "startTime": (int, 0),
    "endTime": (int, 0),
}
_JSON_TYPE = {str: "a string", bool: "a boolean", int: "an integer"}


def check_request(request: dict) -> None:
    """Refuse a request whose members have the wrong JSON type or are too long."""
    for name, (kind, longest) in REQUEST_FIELDS.items():
        value = request.get(name)
        if value is None:
            continue  # null is an absent member
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ApiError(
                "SerializationException", f"Value at '{name}' must be {_JSON_TYPE[kind]}"
            )
        if kind is str and not 1 <= len(value) <= longest:
            raise _invalid(name, value, f"Member must have length between 1 and {longest}")
        if kind is int and value < 0:
            raise _invalid(name, value, "Member must have value greater than or equal to 0")


def _invalid(name: str, value: Any, constraint: str) -> ApiError:
    shown = str(value)[:100]
    return ApiError(
        "InvalidParameterException",
        f"1 validation error detected: Value '{shown}' at '{name}' failed to satisfy "
        f"constraint: {constraint}",
    )


def _limit(request: dict, largest: int) -> int:
    value = request.get("limit")
    if value is None:
        return largest
    if not 1 <= value <= largest:
        raise _invalid("limit", value, f"Member must have value between 1 and {largest}")
    return value


def _group(request: dict) -> str:
    """The log group a request names (by name, or by ARN as logGroupIdentifier)."""
    name, identifier = request.get("logGroupName"), request.get("logGroupIdentifier")
    if (name is None) == (identifier is None):
        raise ApiError(
            "InvalidParameterException",
            "Should provide either logGroupName or logGroupIdentifier, not both",
        )
    group = name or identifier.split(":log-group:", 1)[-1].removesuffix(":*")
    if group not in LOG_GROUPS.values():
        raise ApiError("ResourceNotFoundException", "The specified log group does not exist.")
    return group


def _kind(group: str) -> str:
    return next(kind for kind, name in LOG_GROUPS.items() if name == group)


# ---- the logs ---------------------------------------------------------------------------------


def stream_name(job: Job) -> str:
    return f"{job.name}/{HOST}"


def _jobs(state: ServeState, group: str) -> list[Job]:
    """The jobs with a stream in `group`: those whose step wrote a log."""
    kind = _kind(group)
    with state.lock:
        jobs = [j for j in state.jobs.values() if j.kind == kind and j.log is not None]
    return [j for j in jobs if j.log.is_file()]


def _stream_job(state: ServeState, group: str, stream: str) -> Job:
    name, _, host = stream.rpartition("/")
    with state.lock:
        job = state.jobs.get(name.lower())
    if (
        job is None
        or job.name != name  # stream names are case-sensitive
        or job.kind != _kind(group)
        or host != HOST
        or job.log is None
        or not job.log.is_file()
    ):
        raise ApiError("ResourceNotFoundException", "The specified log stream does not exist.")
    return job


def _marks(state: ServeState, job: Job) -> list[tuple[int, int]]:
    """The job's (end offset, time) marks, with one for what its log holds now if it grew."""
    end, modified = _extent(job.log, running=job.ended is None)
    with state.lock:
        marks = job.log_marks
        if end > (marks[-1][0] if marks else 0):
            marks.append((end, max(modified, marks[-1][1] if marks else 0)))
        return list(marks)


def _extent(path: Path, running: bool) -> tuple[int, int]:
    """(Where the log's events end, its modification time in ms): a running job's log ends
    after its last end of line, a finished one's at its last byte."""
    with path.open("rb") as f:
        info = os.fstat(f.fileno())
        end = info.st_size
        while running and end > 0:
            start = max(0, end - _SCAN)
            f.seek(start)
            newline = f.read(end - start).rfind(b"\n")
            if newline >= 0:
                end = start + newline + 1
                break
            end = start
    return end, int(info.st_mtime * 1000)


def job_events(state: ServeState, job: Job) -> list[Event]:
    """The events of the job's stream, oldest first (of the last MAX_LOG bytes of its log)."""
    marks = _marks(state, job)
    if not marks:
        return []
    ends = [end for end, _ in marks]
    end = ends[-1]
    start = max(0, end - MAX_LOG)
    with job.log.open("rb") as f:
        f.seek(start)
        data = f.read(end - start)
    if start:  # begin at a whole line
        cut = data.find(b"\n") + 1
        data, start = (data[cut:], start + cut) if cut else (b"", end)
    events, position, attempt_starts = [], 0, start == 0
    while position < len(data):
        newline = data.find(b"\n", position)
        line_end = len(data) if newline < 0 else newline + 1
        line = data[position:line_end].rstrip(b"\r\n")
        command = attempt_starts and line.startswith(_COMMAND)
        attempt_starts = line.startswith(_RETRY_NOTE)
        if line.strip() and not command:
            stamp = marks[min(bisect_left(ends, start + line_end), len(marks) - 1)][1]
            message = line[:MAX_MESSAGE].decode("utf-8", errors="replace")
            events.append(Event(start + position, start + line_end, stamp, message))
        position = line_end
    return events


# ---- actions ----------------------------------------------------------------------------------


@action
def describe_log_streams(state: ServeState, request: dict) -> dict:
    group = _group(request)
    prefix = request.get("logStreamNamePrefix") or ""
    order = request.get("orderBy") or "LogStreamName"
    if order not in ("LogStreamName", "LastEventTime"):
        raise _invalid(
            "orderBy", order, "Member must satisfy enum value set: [LogStreamName, LastEventTime]"
        )
    if order == "LastEventTime" and prefix:
        raise ApiError(
            "InvalidParameterException",
            "Cannot order by LastEventTime with a logStreamNamePrefix.",
        )
    limit = _limit(request, MAX_STREAMS)
    streams = [
        _stream(state, group, job)
        for job in _jobs(state, group)
        if stream_name(job).startswith(prefix)
    ]

    def key(stream: dict) -> tuple:
        if order == "LogStreamName":
            return (stream["logStreamName"],)
        return (stream.get("lastEventTimestamp", 0), stream["logStreamName"])

    paging = {"MaxResults": limit, "NextToken": request.get("nextToken")}
    try:
        chosen, token = page(streams, key, paging, bool(request.get("descending")))
    except ApiError:
        raise ApiError("InvalidParameterException", "The specified nextToken is invalid.") from None
    response: dict[str, Any] = {"logStreams": chosen}
    if token:
        response["nextToken"] = token
    return response


def _stream(state: ServeState, group: str, job: Job) -> dict:
    name = stream_name(job)
    stream: dict[str, Any] = {
        "logStreamName": name,
        "creationTime": int(job.created * 1000),
        "arn": f"arn:aws:logs:{state.region}:{ACCOUNT}:log-group:{group}:log-stream:{name}",
        "storedBytes": 0,  # deprecated in CloudWatch, which answers 0
    }
    marks = _marks(state, job)
    if marks:
        stream["firstEventTimestamp"] = marks[0][1]
        stream["lastEventTimestamp"] = stream["lastIngestionTime"] = marks[-1][1]
    return stream


@action
def get_log_events(state: ServeState, request: dict) -> dict:
    group = _group(request)
    stream = request.get("logStreamName")
    if not stream:
        raise _invalid("logStreamName", None, "Member must not be null")
    job = _stream_job(state, group, stream)
    limit = _limit(request, MAX_EVENTS)
    start_time, end_time = request.get("startTime"), request.get("endTime")
    events = job_events(state, job)
    log_end = events[-1].end if events else 0
    events = [
        e
        for e in events
        if (start_time is None or e.timestamp >= start_time)
        and (end_time is None or e.timestamp < end_time)
    ]
    token = request.get("nextToken")
    if token:
        forward, position = _position(token)
    else:
        forward = bool(request.get("startFromHead"))
        position = 0 if forward else log_end
    if forward:
        chosen = _fill([e for e in events if e.offset >= position], limit)
    else:
        chosen = _fill([e for e in events if e.offset < position][::-1], limit)[::-1]
    after = chosen[-1].end if chosen else position
    before = chosen[0].offset if chosen else position
    return {
        "events": [
            {"timestamp": e.timestamp, "message": e.message, "ingestionTime": e.timestamp}
            for e in chosen
        ],
        "nextForwardToken": token if token and forward and not chosen else f"f/{after}",
        "nextBackwardToken": token if token and not forward and not chosen else f"b/{before}",
    }


def _position(token: str) -> tuple[bool, int]:
    """(Forward?, byte position) of a GetLogEvents token."""
    direction, _, number = token.partition("/")
    if direction not in ("f", "b") or not number.isdigit() or len(number) > 19:
        raise ApiError("InvalidParameterException", "The specified nextToken is invalid.")
    return direction == "f", int(number)


def _fill(events: list[Event], limit: int) -> list[Event]:
    """The first events that fit a page: `limit` of them, MAX_PAGE_BYTES at most."""
    chosen, size = [], 0
    for event in events[:limit]:
        size += len(event.message.encode()) + EVENT_OVERHEAD
        if chosen and size > MAX_PAGE_BYTES:
            break
        chosen.append(event)
    return chosen
