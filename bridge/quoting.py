"""Quoting for everything a DAG file puts into the files the bridge writes.

Ids, paths and texts from a DAG file are untrusted: a task id may hold a newline and code, `\"\"\"`,
a NUL, a bidi control or 300 characters. Each goes into an emitted file through the one function
for the context it lands in:

    py_literal   a value in Python code (a string, number, list or dict literal)
    comment      the text of a `#` comment (one line: every line break escaped)
    docstring    text inside a triple-quoted docstring
    md_code      a Markdown code span (`task_id`); md_text for free text (messages)
    mermaid_label, dot_string   a label in a mermaid / Graphviz picture
    html         text in an HTML page
    path_component, file_stem   a name in the output folder (one safe path component)

Ordinary ids (letters, digits, `_-.`) pass through every function unescaped, so the quoting
shows only where something unusual was there to quote.
"""

from __future__ import annotations

import ast
import hashlib
import html as _html
import math
import re
import unicodedata
from typing import Any

# Line breaks str.splitlines() knows (Python's tokenizer itself ends a line at \n and \r only).
_LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
_LINE_BREAK_RE = re.compile("\r\n|[" + _LINE_BREAKS + "]")
# Besides letters and digits, what a folder or file name the bridge makes may hold.
_NAME_CHARS = set("_-.")
NAME_MAX_BYTES = 255  # a file name on ext4, APFS, NTFS (UTF-8 bytes; NTFS counts UTF-16 units)
_HASH_LEN = 8


# --- one line ----------------------------------------------------------------------------------


def _escape_char(c: str) -> str:
    return repr(c)[1:-1]  # "\n" -> \n, "\x00" -> \x00, "\u2028" -> \u2028, lone surrogates too


def one_line(text: Any) -> str:
    """`text` as one line of printable characters: line breaks (whatever str.splitlines splits
    on), NUL, other control and format characters (bidi overrides), and lone surrogates become
    the backslash escapes `repr` writes. Tabs stay. For comments and terminal output."""
    text = str(text)
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() or c == "\t" else _escape_char(c) for c in text)


def comment(text: Any) -> str:
    """Text for a `#` comment: it cannot end the comment line (nothing after it becomes code)."""
    return one_line(text)


# --- Python -----------------------------------------------------------------------------------


def py_literal(value: Any) -> str:
    """Python source for a literal value: `repr` for str, int, bool, None, bytes and lists,
    tuples and dicts of them; finite floats (others as `float('nan')`); anything else only if its
    `repr` round-trips through `ast.literal_eval` (else ValueError)."""
    if value is None or isinstance(value, bool):
        return repr(value)
    for base in (str, bytes, int):  # subclasses (enums) as their plain value
        if isinstance(value, base):
            return repr(value if type(value) is base else base(value))
    if isinstance(value, float):
        return repr(float(value)) if math.isfinite(value) else f"float({str(value)!r})"
    if isinstance(value, (list, tuple)):
        items = ", ".join(py_literal(v) for v in value)
        if isinstance(value, tuple):
            return f"({items}{',' if len(value) == 1 else ''})"
        return f"[{items}]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{py_literal(k)}: {py_literal(v)}" for k, v in value.items()) + "}"
    text = repr(value)
    try:
        if ast.literal_eval(text) == value:
            return text
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        pass
    raise ValueError(f"no Python literal for a {type(value).__name__}")


def docstring(text: Any) -> str:
    """Text for the inside of a (non-raw) triple-quoted docstring: backslashes and quotes
    escaped (no `\"\"\"` can close it, no trailing quote or backslash can touch the closing
    quotes), line breaks and other unprintable characters as escapes. The docstring's value is
    `text` again."""
    return one_line(str(text).replace("\\", "\\\\").replace('"', '\\"'))


def is_dotted_name(text: Any) -> bool:
    """`a` or `a.b.c`: Python identifiers (ASCII), safe to write as code."""
    return isinstance(text, str) and all(
        part.isidentifier() and part.isascii() for part in text.split(".")
    )


# --- Markdown, pictures, HTML -------------------------------------------------------------------


def md_code(text: Any, *, table: bool = False) -> str:
    """A Markdown code span showing `text` literally (HTML in it is not rendered): one line, a
    backtick fence longer than any backtick run inside, `|` escaped in a table cell."""
    body = one_line(text)
    if table:
        body = body.replace("|", "\\|")
    longest = max((len(run) for run in re.findall("`+", body)), default=0)
    fence = "`" * (longest + 1)
    if longest or body.startswith(" ") or body.endswith(" ") or not body:
        body = f" {body} "
    return f"{fence}{body}{fence}"


def md_text(text: Any, *, table: bool = False) -> str:
    """Free text (a message) in Markdown: line breaks become spaces, the rest on one line, `<`
    as `&lt;` (no HTML tag can start), `|` escaped in a table cell."""
    body = one_line(_LINE_BREAK_RE.sub(" ", str(text))).replace("<", "&lt;")
    return body.replace("|", "\\|") if table else body


_MERMAID = {'"': "#quot;", "<": "#lt;", ">": "#gt;", "&": "#amp;", "`": "#96;"}


def mermaid_label(text: Any) -> str:
    """Text inside a quoted mermaid label (`id["..."]`): one line, and the characters that end
    the label, start HTML or a markdown string (or close the Markdown fence around the picture)
    as mermaid entity codes."""
    return "".join(_MERMAID.get(c, c) for c in one_line(text))


def dot_string(text: Any) -> str:
    """A Graphviz double-quoted string (with its quotes): one line, `\\` and `"` escaped."""
    return '"' + one_line(text).replace("\\", "\\\\").replace('"', '\\"') + '"'


def html(text: Any) -> str:
    """Text in HTML, element content or a quoted attribute value: `&<>"'` as character
    references, the same bytes as jinja2's autoescape (markupsafe) when that is installed."""
    try:
        from markupsafe import escape
    except ImportError:  # a plain install without jinja2: the standard library's
        return _html.escape(str(text), quote=True)
    return str(escape(str(text)))


# --- names in the output folder -------------------------------------------------------------------


def short_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:_HASH_LEN]


def _truncate_bytes(text: str, limit: int) -> str:
    data = text.encode("utf-8", "surrogatepass")
    if len(data) <= limit:
        return text
    return data[:limit].decode("utf-8", "ignore")


def path_component(text: Any, *, fallback: str = "dag", max_bytes: int = NAME_MAX_BYTES) -> str:
    """One safe file or folder name for `text` (a DAG id): letters, digits, `_`, `-` and `.`
    only (no separator, NUL, control character or space), never `.`, `..`, empty or hidden, no
    trailing dot (Windows drops it), at most `max_bytes` UTF-8 bytes.

    A DAG id Airflow accepts (letters, digits, `_`, `-`, `.`; at most 250 characters) that fits
    is its own name. Any other id has each other character replaced by `_`, leading and
    trailing dots too, is cut to fit, and ends in `-` and a short hash of the id, so two
    different ids do not share a name.
    """
    text = str(text)
    name = "".join(c if c.isalnum() or c in _NAME_CHARS else "_" for c in text)
    stripped = name.lstrip(".")
    name = "_" * (len(name) - len(stripped)) + stripped
    stripped = name.rstrip(".")
    name = (stripped + "_" * (len(name) - len(stripped))) or fallback
    changed = name != text
    if changed or len(name.encode("utf-8", "surrogatepass")) > max_bytes:
        base = _truncate_bytes(name, max_bytes - _HASH_LEN - 1)
        name = f"{base}-{short_hash(text)}"
    return name


def file_stem(text: Any, *, fallback: str = "task", max_bytes: int = 100) -> str:
    """A file stem made of letters, digits and `_` for `text` (a task id): the bridge's step
    script names. Long stems are cut and end in a short hash of `text`."""
    text = str(text)
    stem = "".join(c if c.isalnum() else "_" for c in text).strip("_") or fallback
    if len(stem.encode("utf-8")) > max_bytes:
        stem = f"{_truncate_bytes(stem, max_bytes - _HASH_LEN - 1)}_{short_hash(text)}"
    return stem


def fold_key(name: str) -> str:
    """The key under which file systems that ignore case and Unicode normalisation (macOS,
    Windows) see `name`: two names with the same key are one file there."""
    return unicodedata.normalize("NFD", unicodedata.normalize("NFD", name).casefold())
