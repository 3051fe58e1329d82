"""Cutover rollback: the edit as line hunks, and applying it in reverse to a file edited since.

A cutover changes a few statements (and adds an import). Its hunks are the line blocks that
differ between the original and the rewritten file, each with up to three lines of context. To
roll back a file the user edited afterwards, every rewritten block must still be in the file,
found where its context says (or, if its context changed, found exactly once); each is then
replaced by the original block. A block that is gone or ambiguous means the user edited what the
cutover wrote: the caller refuses and says which block, unless forced.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

CONTEXT = 3


@dataclass
class Hunk:
    line: int  # first line of the rewritten block (1-based) in the rewritten file
    original: list[str]
    rewritten: list[str]
    before: list[str]  # context lines of the rewritten file just before the block
    after: list[str]  # and just after

    def to_dict(self) -> dict:
        return {
            "line": self.line,
            "original": self.original,
            "rewritten": self.rewritten,
            "before": self.before,
            "after": self.after,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Hunk:
        return cls(
            int(data["line"]),
            list(data["original"]),
            list(data["rewritten"]),
            list(data["before"]),
            list(data["after"]),
        )


def make_hunks(original: str, rewritten: str) -> list[Hunk]:
    """The blocks that differ, each with its context (difflib's opcodes, not merged: a line the
    user edits between two blocks must not make both unplaceable)."""
    a, b = original.splitlines(keepends=True), rewritten.splitlines(keepends=True)
    opcodes = [
        op
        for op in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
        if op[0] != "equal"
    ]
    return [
        Hunk(
            line=j1 + 1,
            original=a[i1:i2],
            rewritten=b[j1:j2],
            before=b[max(0, j1 - CONTEXT) : j1],
            after=b[j2 : j2 + CONTEXT],
        )
        for _, i1, i2, j1, j2 in opcodes
    ]


@dataclass
class Failure:
    hunk: Hunk
    reason: str


def reverse(current: str, hunks: list[Hunk]) -> tuple[str | None, list[Failure]]:
    """Apply the hunks backwards to `current`; (text, []) or (None, what could not be placed)."""
    lines = current.splitlines(keepends=True)
    placed: list[tuple[int, Hunk]] = []
    failures = []
    shift = 0  # how far the file moved (lines added or removed by the user) at the last hunk
    for hunk in hunks:
        at = _locate(lines, hunk, hunk.line - 1 + shift)
        if isinstance(at, str):
            failures.append(Failure(hunk, at))
            continue
        shift = at - (hunk.line - 1)
        placed.append((at, hunk))
    if failures:
        return None, failures
    ends = [(at, at + len(h.rewritten)) for at, h in placed]
    for (_, end), (start, _) in zip(ends, ends[1:], strict=False):
        if start < end:
            return None, [Failure(placed[0][1], "two changed blocks now overlap")]
    for at, hunk in reversed(placed):
        lines[at : at + len(hunk.rewritten)] = hunk.original
    return "".join(lines), []


def _locate(lines: list[str], hunk: Hunk, expected: int) -> int | str:
    """Index of the hunk's rewritten block in `lines`, or why it cannot be found."""
    size = len(hunk.rewritten)
    candidates = [i for i in range(len(lines) - size + 1) if lines[i : i + size] == hunk.rewritten]
    if size == 0:
        candidates = list(range(len(lines) + 1))
    scored = []
    for i in candidates:
        before = _matching_suffix(lines[:i], hunk.before)
        after = _matching_prefix(lines[i + size :], hunk.after)
        scored.append((before + after, -abs(i - expected), i))
    if not scored:
        return "the lines the cutover wrote are no longer in the file"
    scored.sort(reverse=True)
    best = scored[0]
    full = len(hunk.before) + len(hunk.after)
    if size == 0 and best[0] < max(1, full):
        return "the lines around the removed statement changed"
    if len(scored) > 1 and scored[1][0] == best[0] and best[0] < full:
        return "the lines the cutover wrote appear more than once and their context changed"
    return best[2]


def _matching_suffix(lines: list[str], want: list[str]) -> int:
    n = 0
    while n < len(want) and n < len(lines) and lines[-1 - n] == want[-1 - n]:
        n += 1
    return n


def _matching_prefix(lines: list[str], want: list[str]) -> int:
    n = 0
    while n < len(want) and n < len(lines) and lines[n] == want[n]:
        n += 1
    return n
