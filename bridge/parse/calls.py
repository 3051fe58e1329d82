"""Calls, as the static interpreter makes them: safe builtins and methods of literals (within
the size caps), the file's own functions (bound and run), and the dispatch to Airflow's
constructs. A mixin of the Interpreter."""

from __future__ import annotations

import sys
from typing import Any

import libcst as cst

from bridge.parse import dependencies as deps
from bridge.parse.limits import TooLarge
from bridge.parse.scope import (
    LITERAL_TYPES,
    BreakSignal,
    ContinueSignal,
    ReturnSignal,
    Scope,
    format_width,
    has_unknown,
    size_of,
)
from bridge.parse.values import (
    BuiltinMethod,
    ClassValue,
    DagFuncValue,
    DecoratorFactory,
    FunctionValue,
    GroupFuncValue,
    Method,
    SdkCall,
    SdkMethod,
    Symbol,
    TaskFuncValue,
    Unknown,
)

SAFE_BUILTINS = {
    "len": len,
    "range": range,
    "list": list,
    "tuple": tuple,
    "dict": dict,
    "set": set,
    "frozenset": frozenset,
    "sorted": sorted,
    "reversed": lambda x: list(reversed(x)),
    "enumerate": lambda *a, **k: list(enumerate(*a, **k)),
    "zip": lambda *a: list(zip(*a, strict=False)),
    "str": str,
    "int": int,
    "float": float,
    "bool": bool,
    "min": min,
    "max": max,
    "sum": sum,
    "abs": abs,
    "round": round,
    "any": any,
    "all": all,
    "repr": repr,
    "format": format,
    "map": None,
    "filter": None,
    "print": lambda *a, **k: None,
    "isinstance": None,
    "hasattr": None,
    "getattr": None,
    "id": None,
    "globals": None,  # modelled: `globals()[name] = dag` registers a DAG
    "type": None,
    "chr": chr,
    "ord": ord,
    "divmod": divmod,
    "hex": hex,
}
# Functions whose result is structural: they still work when some elements are unknown.
_STRUCTURAL = {"len", "list", "tuple", "reversed", "enumerate", "zip", "print", "set"}
_MUTATORS = {"append", "extend", "insert", "update", "setdefault", "add", "remove", "pop", "clear"}
_SAFE_PACKAGES = {
    "airflow",
    "pendulum",
    "dateutil",
    "datetime",
    "logging",
    "json",
    "os",
    "textwrap",
}


# Methods of literals whose result can be much larger than their inputs; checked before the call.
_GROWING_METHODS = {
    "center",
    "ljust",
    "rjust",
    "zfill",
    "expandtabs",
    "replace",
    "join",
    "format",
    "format_map",
    "translate",
    "to_bytes",
    "extend",
}


class Calls:
    """Evaluates calls. Needs the Interpreter's eval, exec_block, size caps and Airflow constructs."""

    def ex_Call(self, node: cst.Call, scope: Scope):
        if (
            self.pushes is not None
            and isinstance(node.func, cst.Attribute)
            and node.func.attr.value == "xcom_push"
        ):
            self.note_push(*self.call_args(node, scope))
            return None
        func = self.eval(node.func, scope)
        unread: list[str] = []
        args, kwargs = self.call_args(node, scope, unread)
        if isinstance(func, SdkMethod):  # `estimator.transformer(...)`: a call of the SDK object
            name = f"{func.receiver.name}.{func.name}"
            result = self.sdk_call(name, args, kwargs, node, func.receiver)
        else:
            result = self.call(func, args, kwargs, node, scope)
        if unread and isinstance(result, SdkCall) and result.line == self.line(node):
            result.unread = unread
        return result

    def call_args(self, node: cst.Call, scope: Scope, unread: list[str] | None = None):
        """Positional values and {keyword: (value, source)}; the source of each `**mapping`
        that is not a known dict goes to `unread` when given."""
        args: list = []
        kwargs: dict[str, tuple[Any, str]] = {}
        for arg in node.args:
            value = self.eval(arg.value, scope)
            if arg.star == "*":
                it = self.iterable(value)
                args.extend(it if it is not None else [self.unknown(arg.value)])
            elif arg.star == "**":
                if isinstance(value, dict):
                    for k, v in value.items():
                        kwargs[str(k)] = (v, repr(v) if not isinstance(v, Unknown) else v.source)
                elif unread is not None:
                    unread.append(self.src(arg.value))
            elif arg.keyword is not None:
                kwargs[arg.keyword.value] = (value, self.lazy_source(arg.value))
            else:
                args.append(value)
        return args, kwargs

    def call(self, func, args: list, kwargs: dict, node: cst.Call, scope: Scope):
        plain = {k: v for k, (v, _) in kwargs.items()}
        if isinstance(func, Method):
            return func.fn(self, func.obj, args, kwargs, node)
        if isinstance(func, BuiltinMethod):
            return self.call_builtin_method(func, args, plain, node)
        if isinstance(func, Symbol):
            return self.call_symbol(func, args, kwargs, node, scope)
        if isinstance(func, FunctionValue):
            return self.call_function(func, args, plain, node)
        if isinstance(func, TaskFuncValue):
            return self.call_taskfunc(func, args, kwargs, node)
        if isinstance(func, DagFuncValue):
            return self.call_dagfunc(func, args, plain, node)
        if isinstance(func, GroupFuncValue):
            return self.call_groupfunc(func, args, kwargs, node)
        if isinstance(func, ClassValue):
            if func.is_operator:
                return self.make_operator(func.qualname, args, kwargs, node)
            return self.unknown(node, "call")
        if isinstance(func, DecoratorFactory):
            return func
        return self.unknown(node, "call")

    def call_builtin_method(self, m: BuiltinMethod, args, kwargs, node):
        if m.name not in _MUTATORS and (has_unknown(args) or has_unknown(kwargs)):
            return self.unknown(node, "template" if m.name == "format" else "expr")
        try:
            if m.name in _GROWING_METHODS:
                size, charge = self.method_size(m, args, kwargs, node)
                if size > self.limits.value or not self.afford(charge, node):
                    self.note_too_large(node, size)
                    return self.unknown(node)
            result = getattr(m.obj, m.name)(*args, **kwargs)
        except TooLarge:
            return self.unknown(node)
        except Exception:
            return self.unknown(node)
        if m.name not in _GROWING_METHODS and m.name not in _MUTATORS:
            if not self.afford(size_of(result), node):
                return self.unknown(node)
            if isinstance(result, int) and result.bit_length() > self.limits.int_bits:
                return self.unknown(node)
        if isinstance(result, (type({}.items()), type({}.keys()), type({}.values()))):
            return list(result)
        return (
            result
            if isinstance(result, LITERAL_TYPES) or result is None or deps.is_dependency(result)
            else self.unknown(node)
        )

    def call_builtin(self, name: str, args, kwargs, node):
        fn = SAFE_BUILTINS.get(name)
        if name == "globals":
            return Symbol("globals()")
        if fn is None:
            return self.unknown(node, "call")
        if name not in _STRUCTURAL and (has_unknown(args) or has_unknown(kwargs)):
            return self.unknown(node)
        if (
            name == "range"
            and len(range(*[a for a in args if isinstance(a, int)])) > self.limits.range
        ):
            return self.unknown(node)
        try:
            if name in ("str", "repr", "format") and args:
                spec = args[1] if name == "format" and len(args) > 1 else ""
                size = self.printed(args[0], node) + format_width(
                    spec if isinstance(spec, str) else ""
                )
                if not self.afford(size, node):
                    return self.unknown(node)
            elif name == "sum" and len(args) > 1 and isinstance(args[1], (str, bytes, list, tuple)):
                items = args[0] if isinstance(args[0], (list, tuple)) else []
                size = len(args[1]) + sum(len(i) for i in items if hasattr(i, "__len__"))
                # sum() of sequences copies the partial result at each item: quadratic work
                if size > self.limits.value or not self.afford(
                    size * max(len(items), 1) // 2 + 1, node
                ):
                    self.note_too_large(node, size)
                    return self.unknown(node)
            result = fn(*args, **kwargs)
        except TooLarge:
            return self.unknown(node)
        except Exception:
            return self.unknown(node)
        if not self.afford(size_of(result), node):
            return self.unknown(node)
        return result

    def call_function(self, func: FunctionValue, args, kwargs, node):
        self.tick(node)
        if self.depth >= self.limits.depth:
            self.diag(
                "BRG111",
                node,
                f"call depth above {self.limits.depth} at `{func.name}`; result treated as unknown",
            )
            return self.unknown(node, "call")
        local = Scope(func.closure, func.closure.module)
        self.bind_params(func, args, kwargs, local, lambda name, default: default)
        self.depth += 1
        try:
            if isinstance(func.node, cst.Lambda):
                return self.eval(func.node.body, local)
            self.exec_block(
                func.node.body.body
                if isinstance(func.node.body, cst.IndentedBlock)
                else func.node.body.body,
                local,
            )
        except ReturnSignal as ret:
            return ret.value
        except (BreakSignal, ContinueSignal):
            return None
        finally:
            self.depth -= 1
        return None

    def bind_params(
        self, func: FunctionValue, args, kwargs, local: Scope, missing
    ) -> dict[str, Any]:
        """Bind call arguments to the function's parameters; returns name -> value as bound."""
        params = func.node.params
        bound: dict[str, Any] = {}
        positional = [*params.posonly_params, *params.params]
        args = list(args)
        for p in positional:
            name = p.name.value
            if args:
                bound[name] = args.pop(0)
            elif name in kwargs:
                bound[name] = kwargs.pop(name)
            else:
                bound[name] = missing(name, func.defaults.get(name, Unknown(name, "name")))
        if isinstance(params.star_arg, cst.Param):
            bound[params.star_arg.name.value] = tuple(args)
        for p in params.kwonly_params:
            name = p.name.value
            bound[name] = (
                kwargs.pop(name)
                if name in kwargs
                else missing(name, func.defaults.get(name, Unknown(name, "name")))
            )
        if params.star_kwarg is not None:
            bound[params.star_kwarg.name.value] = dict(kwargs)
        for name, value in bound.items():
            local.vars[name] = value
        return bound

    def warn_unknown_call(self, node: cst.Call, scope: Scope) -> None:
        """A call whose result is dropped may be creating tasks we cannot see."""
        func = self.eval(node.func, scope)
        if isinstance(func, Symbol):
            top = func.top
            if (
                top in sys.stdlib_module_names
                or top in _SAFE_PACKAGES
                or top == "builtins"
                or top.startswith("asset:")
            ):
                return
        elif not isinstance(func, Unknown):
            return
        if self.current_dag is None and not self.dags:
            return
        self.diag(
            "BRG113",
            node,
            f"`{self.src(node.func)}(...)` is not known to the parser; tasks it creates are not seen",
        )
