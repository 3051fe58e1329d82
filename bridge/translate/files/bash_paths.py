"""The files and folders a bash command reads and writes, found statically from its text.

The command is split with `shlex` into simple commands (over `&&`, `||`, `;`, `|`, newlines);
variables assigned in the command or given in the operator's `env` are followed; Jinja
(`{{ ds }}`) and command substitution stay opaque parts of a word. Redirections and the arguments
of common file commands (cp, mv, mkdir, tar, ...) become reads and writes; anything whose folder
cannot be told becomes `Unresolved`.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field, replace

from bridge.translate.files import values as v
from bridge.translate.files.folders import Target, locate
from bridge.translate.files.model import Access, Folder, TaskFiles, Unresolved

MAX_COMMAND = 100_000  # characters analysed; a longer command is reported, not parsed
_OPAQUE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\$\(\(.*?\)\)|`[^`]*`", re.S)
_SEPARATORS = {"&&", "||", ";", "|", "&", "\n", "(", ")", "{", "}", ";;", "|&"}
_KEYWORDS = {"then", "do", "else", "elif", "fi", "done", "esac", "if", "while", "until", "!"}
_REDIRECTS = {
    ">": "write",
    ">>": "write",
    ">|": "write",
    "&>": "write",
    "&>>": "write",
    "<": "read",
}
_READERS = {
    "cat",
    "head",
    "tail",
    "wc",
    "sort",
    "uniq",
    "cut",
    "md5sum",
    "sha256sum",
    "ls",
    "du",
    "stat",
    "zcat",
    "diff",
    "cmp",
    "less",
    "file",
    "test",
    "[",
    "gunzip",
    "unzip",
    "source",
    ".",
}
_INTERPRETERS = {"python", "python3", "bash", "sh", "Rscript", "node", "perl", "ruby"}
_QUIET = {
    "echo",
    "printf",
    "true",
    "false",
    "exit",
    "return",
    "set",
    "sleep",
    "date",
    "export",
    "local",
    "declare",
    "readonly",
    "unset",
    "shift",
    "wait",
    "exec",
    "trap",
    "pwd",
}
_PATTERN_FIRST = {"grep", "egrep", "fgrep", "jq", "awk", "sed"}


@dataclass
class _Shell:
    """What the command has assigned so far, and what it touched."""

    env: dict[str, v.Value]
    line: int
    opaque: dict[str, str] = field(default_factory=dict)
    cwd: v.Value | None = None
    accesses: list[Access] = field(default_factory=list)
    unresolved: list[Unresolved] = field(default_factory=list)


def bash_files(command: str, line: int, *, env: dict[str, str] | None = None) -> TaskFiles:
    """What `command` (a bash_command before Jinja rendering) reads and writes."""
    shell = _Shell(env={k: _env_value(k, x) for k, x in (env or {}).items()}, line=line)
    if len(command) > MAX_COMMAND:
        why = "the command is too long to analyse"
        return TaskFiles(unresolved=(Unresolved(expression=command[:80], line=line, why=why),))
    try:
        words = _tokens(command, shell)
    except ValueError as error:  # unbalanced quotes: bash would refuse it too
        why = f"the command does not parse: {error}"
        return TaskFiles(unresolved=(Unresolved(expression=command[:80], line=line, why=why),))
    for simple in _simple_commands(words):
        _command(simple, shell)
    return TaskFiles(accesses=tuple(shell.accesses), unresolved=tuple(shell.unresolved))


def _env_value(name: str, value: str) -> v.Value:
    return v.text(value)


def _tokens(command: str, shell: _Shell) -> list[str]:
    """Shell words and operators; Jinja, `$(...)` and backticks become placeholder words."""

    def stash(match: re.Match) -> str:
        key = f"__brg{len(shell.opaque)}__"
        shell.opaque[key] = match.group(0)
        return key

    text = _OPAQUE.sub(stash, command.replace("\\\n", " "))
    text = _substitutions(text, stash)
    lexer = shlex.shlex(text, posix=True, punctuation_chars=";&|<>()\n")
    lexer.whitespace_split = True
    lexer.whitespace = " \t\r"
    lexer.commenters = ""
    return list(lexer)


def _substitutions(text: str, stash) -> str:
    """Replace each balanced `$( ... )` by a placeholder."""
    out, i = [], 0
    while True:
        start = text.find("$(", i)
        if start < 0:
            return "".join(out) + text[i:]
        depth, j = 0, start + 1
        while j < len(text):
            depth += {"(": 1, ")": -1}.get(text[j], 0)
            if depth == 0:
                break
            j += 1
        out.append(text[i:start])
        out.append(stash(re.match(r"(?s).*", text[start : j + 1])))  # type: ignore[arg-type]
        i = j + 1


def _substituted_commands(words: list[str], shell: _Shell) -> None:
    """The commands inside a word's `$( ... )` run too (`n=$(find "$DIR" | wc -l)` reads DIR),
    with what the command has assigned so far."""
    for word in words:
        for key in re.findall(r"__brg\d+__", word):
            inner = shell.opaque.get(key, "")
            if not inner.startswith("$(") or not inner.endswith(")"):
                continue  # Jinja or backticks: opaque
            try:
                nested = _tokens(inner[2:-1], shell)
            except ValueError:
                continue  # the outer command's quoting already failed or will be reported
            for simple in _simple_commands(nested):
                _command(simple, shell)


def _simple_commands(words: list[str]) -> list[list[str]]:
    commands: list[list[str]] = [[]]
    for word in words:
        if word in _SEPARATORS or set(word) <= set(";&|\n()") and word.strip():
            commands.append([])
        elif word == "\n" or (not commands[-1] and word in _KEYWORDS):
            continue
        else:
            commands[-1].append(word)
    return [c for c in commands if c]


# --- words ---------------------------------------------------------------------------------


def _word(word: str, shell: _Shell) -> v.Value:
    """A word's value: literal text, variables expanded, opaque parts as holes."""
    pieces: list[v.Value] = []
    pos = 0
    for start, end, name, default in _expansions(word):
        pieces.extend(_literal(word[pos:start], shell))
        pieces.append(_variable(word[start:end], name, default, shell))
        pos = end
    pieces.extend(_literal(word[pos:], shell))
    result: v.Value = v.Text()
    for i, piece in enumerate(pieces):
        result = _glue(result, piece, first=i == 0)
    return result


def _expansions(word: str):
    """Each `$NAME`, `${NAME}`, `${NAME:-default}` (defaults may nest): (start, end, name, default)."""
    i = 0
    while (i := word.find("$", i)) >= 0:
        if word.startswith("${", i):
            depth, j = 0, i + 1
            while j < len(word):
                depth += {"{": 1, "}": -1}.get(word[j], 0)
                if depth == 0:
                    break
                j += 1
            inner = word[i + 2 : j]
            name = re.match(r"[A-Za-z_][A-Za-z0-9_]*", inner)
            rest = inner[name.end() :] if name else inner
            default = (
                rest[2:]
                if rest.startswith((":-", ":="))
                else rest[1:]
                if rest[:1] in "-=" and rest
                else None
            )
            yield (
                i,
                j + 1,
                name.group(0) if name and (default is not None or not rest) else None,
                default,
            )
            i = j + 1
        else:
            name = re.match(r"[A-Za-z_][A-Za-z0-9_]*|[0-9@*#?$!-]", word[i + 1 :])
            if name is None:
                i += 1
                continue
            yield (
                i,
                i + 1 + name.end(),
                name.group(0) if name.group(0)[0].isalpha() or name.group(0)[0] == "_" else None,
                None,
            )
            i += 1 + name.end()


def _glue(left: v.Value, right: v.Value, *, first: bool) -> v.Value:
    results = []
    for a in v.options(left):
        for b in v.options(right):
            if first:
                results.append(b)
            elif isinstance(a, v.Text) and isinstance(b, v.Text) and b.root is None:
                results.append(v.concat(a, v.Text(parts=b.parts)))
            elif isinstance(a, v.Text):
                hole = v.hole_of(b, b.render() if isinstance(b, v.Text) else "$?")
                results.append(v.concat(a, v.Text(parts=(hole,))))
            else:
                results.append(a)
    return v.alternatives(*results)


def _literal(text: str, shell: _Shell) -> list[v.Value]:
    """Literal text with its placeholders turned back into holes."""
    out: list[v.Value] = []
    for piece in re.split(r"(__brg\d+__)", text):
        if piece in shell.opaque:
            original = shell.opaque[piece]
            if original.startswith("{"):
                out.append(v.text(original))  # Jinja: the folders module stops at "{{"
            else:
                out.append(v.Unknown(original, f"`{original}` is computed at run time"))
        elif piece:
            out.append(v.text(piece))
    return out


def _variable(source: str, name: str | None, default: str | None, shell: _Shell) -> v.Value:
    if name is None:
        return v.Unknown(source, f"`{source}` is set at run time")
    value = shell.env.get(name)
    if value is not None:
        if default is not None and any(_maybe_empty(o) for o in v.options(value)):
            fallback = _word(default, shell)
            return v.alternatives(*(o for o in v.options(value) if not _empty(o)), fallback)
        return value
    static_default = _static_default(default) if default is not None else None
    folder = Folder(kind="env", key=name, default=static_default)
    return v.Text(root=folder, anchor=folder)


def _named(value: v.Value) -> v.Value:
    """A variable holding a whole folder is what later paths share: anchor it, as a constant."""
    results = []
    for option in v.options(value):
        where = locate(option, "any") if v.path_like(option) and option.static is not None else None  # type: ignore[union-attr]
        results.append(v.anchored(option, where) if isinstance(where, Folder) else option)
    return v.alternatives(*results)


def _empty(value: v.Value) -> bool:
    return isinstance(value, v.Text) and value.root is None and not value.parts


def _maybe_empty(value: v.Value) -> bool:
    """A value that may expand to nothing, so `${X:-d}` may take its default."""
    return _empty(value) or (isinstance(value, v.Text) and "{{" in (value.static or "{{"))


def _static_default(default: str) -> str | None:
    """The path `${X:-default}` names when nothing is set: nested defaults taken."""
    out, pos = [], 0
    for start, end, _name, inner in _expansions(default):
        out.append(default[pos:start])
        if inner is None:
            return None
        out.append(_static_default(inner) or "\0")
        pos = end
    text = "".join(out) + default[pos:]
    return text if text.startswith("/") and "\0" not in text and "__brg" not in text else None


# --- commands ------------------------------------------------------------------------------


def _command(words: list[str], shell: _Shell) -> None:
    _substituted_commands(words, shell)
    words = _redirections(words, shell)
    while words and "=" in words[0] and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0]):
        name, _, value = words[0].partition("=")
        shell.env[name] = _named(_word(value, shell))
        words = words[1:]
    if not words:
        return
    name, args = words[0].rsplit("/", 1)[-1], words[1:]
    if name in ("export", "local", "declare", "readonly"):
        _command([w for w in args if not w.startswith("-")], shell)
    elif name == "cd":
        shell.cwd = _word(args[0], shell) if args else None
    elif name == "for" and len(args) >= 2 and args[1] == "in":
        shell.env[args[0]] = v.alternatives(
            *(_listing(_word(w, shell)) for w in args[2:]) or [v.Known(None)]
        )
    elif name in ("cp", "rsync", "mv", "ln", "install"):
        _copy(name, args, shell)
    elif name in ("mkdir", "touch", "rm", "rmdir", "truncate"):
        target: Target = "dir" if name in ("mkdir", "rmdir") else "any"
        for arg in _operands(args):
            _use(arg, "write", target, shell)
    elif name == "tar":
        _tar(args, shell)
    elif name in ("curl", "wget"):
        _download(args, shell)
    elif name in _INTERPRETERS:
        for arg in _operands(args):
            if "/" in arg or arg.startswith("$"):
                _use(arg, "read", "any", shell)
    elif name in _PATTERN_FIRST:
        for arg in _operands(args)[1:]:
            _use(arg, "read", "any", shell)
    elif name == "find":
        for arg in _operands(args)[:1]:
            _use(arg, "read", "dir", shell)
    elif name in _READERS:
        for arg in _operands(args):
            if arg.isdigit():
                continue  # an option's number (head -n 5)
            _use(arg, "read", "any", shell)
    elif name not in _QUIET and name not in _KEYWORDS:
        for arg in args:  # a command we do not know: a path it is given may be read or written
            value = _word(arg.split("=", 1)[-1] if arg.startswith("-") else arg, shell)
            if any(v.path_like(o) for o in v.options(value)):
                _use(arg.split("=", 1)[-1] if arg.startswith("-") else arg, "both", "any", shell)


def _redirections(words: list[str], shell: _Shell) -> list[str]:
    """Record `> f`, `>> f`, `< f`; return the words left. `2>&1` and heredocs are skipped."""
    rest: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word in _REDIRECTS and i + 1 < len(words):
            if rest and rest[-1].isdigit():
                rest.pop()  # the fd number of `2> file`
            target = words[i + 1]
            if not target.startswith("&"):
                _use(target, _REDIRECTS[word], "file", shell)
            i += 2
        elif word in (">&", "<&", "<<", "<<<", "<<-", "&>") and i + 1 < len(words):
            if rest and rest[-1].isdigit():
                rest.pop()
            i += 2
        else:
            rest.append(word)
            i += 1
    return rest


def _operands(args: list[str]) -> list[str]:
    """Arguments that are not options (a `--` ends the options)."""
    out, options_done = [], False
    for arg in args:
        if arg == "--" and not options_done:
            options_done = True
        elif options_done or not arg.startswith("-") or arg == "-":
            out.append(arg)
    return out


def _copy(name: str, args: list[str], shell: _Shell) -> None:
    """cp/rsync/mv/ln: sources read (mv also removes them), the destination written."""
    target = None
    rest = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in ("-t", "--target-directory") and i + 1 < len(args):
            target, i = args[i + 1], i + 2
            continue
        if arg.startswith("--target-directory="):
            target = arg.split("=", 1)[1]
        elif not arg.startswith("-") or arg == "-":
            rest.append(arg)
        i += 1
    if target is None and rest:
        target, rest = rest[-1], rest[:-1]
    for source in rest:
        if not _remote(source):
            _use(source, "both" if name == "mv" else "read", "any", shell)
    if target is not None and not _remote(target):
        _use(target, "write", "dir" if target.endswith("/") else "any", shell)


def _remote(arg: str) -> bool:
    return "://" in arg or bool(re.match(r"^[\w.-]+(@[\w.-]+)?:", arg))


def _tar(args: list[str], shell: _Shell) -> None:
    """tar -c/-x with -f ARCHIVE and -C DIR: members are relative to -C."""
    mode, archive, directory, members = None, None, None, []
    i = 0
    if args and not args[0].startswith("-") and re.fullmatch(r"[A-Za-z]+", args[0]):
        args = ["-" + args[0], *args[1:]]  # old style: `tar czf out.tgz dir`
    while i < len(args):
        arg = args[i]
        if arg.startswith("--"):
            key, _, val = arg.partition("=")
            if key in ("--create", "--extract", "--get"):
                mode = "c" if key == "--create" else "x"
            elif key in ("--file", "--directory"):
                if not val and i + 1 < len(args):
                    val, i = args[i + 1], i + 1
                archive, directory = (val, directory) if key == "--file" else (archive, val)
        elif arg.startswith("-") and len(arg) > 1:
            takes = []
            for flag in arg[1:]:
                if flag in "cx":
                    mode = flag
                elif flag in "fC":
                    takes.append(flag)
            for flag in takes:
                if i + 1 < len(args):
                    i += 1
                    archive, directory = (args[i], directory) if flag == "f" else (archive, args[i])
        else:
            members.append(arg)
        i += 1
    if archive is not None and archive != "-":
        _use(archive, "write" if mode == "c" else "read", "file", shell)
    base = _word(directory, shell) if directory is not None else shell.cwd
    if mode == "x":
        if directory is not None:
            _use(directory, "write", "dir", shell)
        else:
            _unresolved(
                shell, "tar -x", "extracts into the working directory, which a job does not share"
            )
    elif mode == "c":
        for member in members:
            _use(member, "read", "any", shell, base=base)


def _download(args: list[str], shell: _Shell) -> None:
    """curl -o FILE / wget -O FILE / wget -P DIR write where they are told."""
    for i, arg in enumerate(args[:-1]):
        if arg in ("-o", "--output", "-O", "--output-document"):
            if args[i + 1] != "-":
                _use(args[i + 1], "write", "file", shell)
        elif arg in ("-P", "--directory-prefix"):
            _use(args[i + 1], "write", "dir", shell)


def _listing(value: v.Value) -> v.Value:
    """`for f in /tmp/x/*.csv`: each item is a path under the glob's folder."""
    results = []
    for option in v.options(value):
        if isinstance(option, v.Text) and option.static is not None and "*" in option.static:
            whole = option.static
            head = whole[: whole.rfind("/", 0, whole.find("*")) + 1]
            hole = v.Hole(whole, "a file matched at run time")
            results.append(replace(option, parts=(head, hole) if head else (hole,), extended=True))
        else:
            results.append(option)
    return v.alternatives(*results)


def _use(
    word: str, mode: str, target: Target, shell: _Shell, *, base: v.Value | None = None
) -> None:
    value = _word(word, shell)
    base = base if base is not None else shell.cwd
    for option in v.options(value):
        if base is not None and isinstance(option, v.Text) and not v.path_like(option):
            option = (
                v.alternatives(
                    *(v.join(b, option) for b in v.options(base) if isinstance(b, v.Text))
                )
                if any(isinstance(b, v.Text) for b in v.options(base))
                else option
            )
        for one in v.options(option):
            _record(word, one, mode, target, shell)


def _record(word: str, value: v.Value, mode: str, target: Target, shell: _Shell) -> None:
    if isinstance(value, v.Unknown):
        _unresolved(shell, _shown(word, shell), value.why)
        return
    if not isinstance(value, v.Text):
        return
    where = locate(value, target)
    if isinstance(where, str):
        _unresolved(shell, _shown(word, shell), where)
    elif where is not None:
        for m in ("read", "write") if mode == "both" else (mode,):
            access = Access(folder=where, mode=m, path=value.render(), line=shell.line)  # type: ignore[arg-type]
            if access not in shell.accesses:
                shell.accesses.append(access)


def _shown(word: str, shell: _Shell) -> str:
    return re.sub(r"__brg\d+__", lambda m: shell.opaque.get(m.group(0), m.group(0)), word)


def _unresolved(shell: _Shell, expression: str, why: str) -> None:
    item = Unresolved(expression=expression, line=shell.line, why=why)
    if item not in shell.unresolved:
        shell.unresolved.append(item)
