"""The static interpreter's limits: how many steps, how deep, how large a value it builds.

Over a limit the evaluation stops (steps) or the value is `Unknown` (sizes), with one BRG111.
`SizeCaps` is a mixin of the Interpreter: it estimates what an operation would build before it is
built, and counts it against the file's budget. The limits it applies are the Interpreter's
`limits`, read from `bridge.parse.interpreter`'s MAX_* names when an Interpreter is made (tests
and the parse worker tune them there).
"""

from __future__ import annotations

import operator as op
from dataclasses import dataclass
from pathlib import PurePosixPath

import libcst as cst

from bridge.parse.scope import AbortEvaluation, printed_size, template_width
from bridge.parse.values import BuiltinMethod

MAX_STEPS = 1_000_000  # statements; ~10 s of evaluation at worst
MAX_DEPTH = 60
MAX_RANGE = 1_000_000
# Values the evaluator builds: one value (characters of a string, elements of a container) and
# all values of one file together (plus the work of sizing them). Over a cap a value is Unknown.
MAX_VALUE = 2_000_000
MAX_BUILT = 20_000_000
MAX_INT_BITS = 100_000


@dataclass(frozen=True, slots=True)
class Limits:
    """The limits one evaluation applies (the MAX_* above, unless tuned)."""

    steps: int = MAX_STEPS
    depth: int = MAX_DEPTH
    range: int = MAX_RANGE
    value: int = MAX_VALUE
    built: int = MAX_BUILT
    int_bits: int = MAX_INT_BITS


class TooLarge(Exception):
    """A value would exceed the evaluator's size caps."""


class SizeCaps:
    """Step and size accounting. Needs the Interpreter's `limits`, `built`, `diag` and `src`."""

    def afford(self, size: int, node: cst.CSTNode) -> bool:
        """Whether a value of `size` may be built; counts it against the file's budget."""
        if size > self.limits.value or self.built + size > self.limits.built:
            self.note_too_large(node, size)
            return False
        self.built += size
        return True

    def note_too_large(self, node: cst.CSTNode, size: int) -> None:
        if self.too_large_noted:
            return
        self.too_large_noted = True
        text = self.src(node)
        if len(text) > 80:
            text = text[:60] + " ... " + text[-15:]
        if size > self.limits.value:
            why = f"a value of {self.limits.value:,} characters or elements"
        else:
            why = f"{self.limits.built:,} characters or elements of values per file"
        self.diag(
            "BRG111",
            node,
            f"`{text}`: the parser builds at most {why}; treated as unknown "
            "(later values over the limit are not reported)",
        )

    def printed(self, value, node: cst.CSTNode) -> int:
        """len(str(value)) estimated within the caps, or TooLarge; the estimate's work counts."""
        size, visited = printed_size(value, self.limits.value)
        self.built += visited
        if size > self.limits.value or self.built > self.limits.built:
            self.note_too_large(node, size)
            raise TooLarge()
        return size

    def tick(self, node: cst.CSTNode) -> None:
        """One evaluation step (a statement, a comprehension item, a call)."""
        self.steps += 1
        if self.steps > self.limits.steps:
            self.diag("BRG111", node, f"stopped after {self.limits.steps:,} evaluation steps")
            raise AbortEvaluation()

    def binop_size(self, fn, left, right, node) -> int | None:
        """The size of `fn(left, right)` when the operation can build a large value (else None);
        past the int_bits limit for ints, TooLarge."""
        if fn is op.add:
            if isinstance(left, (str, bytes, list, tuple)) and isinstance(right, type(left)):
                return len(left) + len(right)
            return None
        if fn is op.mul:
            if isinstance(left, int) and isinstance(right, int):
                return self.int_bits(left.bit_length() + right.bit_length(), node)
            seq, times = (right, left) if isinstance(left, int) else (left, right)
            if isinstance(seq, (str, bytes, list, tuple)) and isinstance(times, int):
                return len(seq) * max(times, 0)
            return None
        if fn is op.pow and isinstance(left, int) and isinstance(right, int) and right > 0:
            return self.int_bits(max(left.bit_length() - 1, 0) * right + 1, node)
        if fn is op.lshift and isinstance(left, int) and isinstance(right, int) and left:
            return self.int_bits(left.bit_length() + max(right, 0), node)
        if fn is op.mod and isinstance(left, (str, bytes)):
            args = list(right.values()) if isinstance(right, dict) else right
            args = list(args) if isinstance(args, tuple) else [args]
            return self.template_size(left, args, True, node)
        if fn is op.truediv and isinstance(left, PurePosixPath | str):
            if isinstance(left, PurePosixPath) or isinstance(right, PurePosixPath):
                return len(str(left)) + len(str(right)) + 1
        return None

    def int_bits(self, bits: int, node) -> int:
        if bits > self.limits.int_bits:
            self.note_too_large(node, bits // 8)
            raise TooLarge()
        return bits // 8

    def template_size(self, template, args: list, percent: bool, node) -> int:
        """A bound on the length of `template % args` or `template.format(*args)`."""
        fields, width, from_args = template_width(template, percent)
        if not fields:
            return len(template)
        if from_args:
            ints = [abs(a) for a in args if isinstance(a, int) and not isinstance(a, bool)]
            width = max([width, *(min(i, self.limits.value + 1) for i in ints)])
        each = max((self.printed(a, node) for a in args), default=0)
        return len(template) + fields * (each + width)

    def method_size(self, m: BuiltinMethod, args, kwargs, node) -> tuple[int, int]:
        """(size of the result, size newly built) of a method that can grow a value."""
        obj, name = m.obj, m.name
        n = len(obj) if isinstance(obj, (str, bytes, list, tuple, dict, set)) else 0

        def arg(i: int, key: str, default=None):
            return args[i] if len(args) > i else kwargs.get(key, default)

        def int_arg(i: int, key: str, default: int = 0) -> int:
            v = arg(i, key, default)
            return v if isinstance(v, int) and not isinstance(v, bool) else default

        def sized(v) -> int:
            return len(v) if isinstance(v, (str, bytes, list, tuple, dict, set, frozenset)) else 0

        if name in ("center", "ljust", "rjust", "zfill"):
            size = max(n, int_arg(0, "width"))
        elif name == "expandtabs":
            size = n * max(int_arg(0, "tabsize", 8), 1)
        elif name == "replace":
            old, new = sized(arg(0, "old", "")), sized(arg(1, "new", ""))
            times = n // max(old, 1) + 1
            count = int_arg(2, "count", -1)
            if count >= 0:
                times = min(times, count)
            size = n + times * max(new - old, 0)
        elif name == "join":
            items = arg(0, "iterable", ())
            items = items if isinstance(items, (list, tuple, set, frozenset, dict, str)) else ()
            size = sum(sized(i) for i in items) + n * max(len(items) - 1, 0)
        elif name == "format":
            size = self.template_size(obj, [*args, *kwargs.values()], False, node)
        elif name == "format_map":
            mapping = arg(0, "mapping", {})
            values = list(mapping.values()) if isinstance(mapping, dict) else []
            size = self.template_size(obj, values, False, node)
        elif name == "translate":
            table = arg(0, "table", {})
            longest = (
                max((sized(v) for v in table.values()), default=1) if isinstance(table, dict) else 1
            )
            size = n * max(longest, 1)
        elif name == "to_bytes":
            size = int_arg(0, "length", 1)
        elif name == "extend":
            added = sized(arg(0, "iterable", ()))
            return n + added, added
        else:
            size = n
        return size, size
