"""Expressions, as the static interpreter evaluates them: literals, f-strings, names,
containers, subscripts, operators (`>>`/`<<` between tasks are dependencies), comparisons,
comprehensions and attributes. A mixin of the Interpreter."""

from __future__ import annotations

import ast
import operator as op

import libcst as cst

from bridge.parse import dependencies as deps
from bridge.parse.calls import SAFE_BUILTINS
from bridge.parse.limits import TooLarge
from bridge.parse.names import canonical
from bridge.parse.runtime_text import RuntimeText, environment_text
from bridge.parse.scope import LITERAL_TYPES, Scope, format_width, has_unknown
from bridge.parse.values import (
    BuiltinMethod,
    ClassValue,
    DagNode,
    DecoratorFactory,
    FunctionValue,
    GroupFuncValue,
    GroupNode,
    LabelNode,
    ParamValue,
    PartialValue,
    SdkCall,
    SdkMethod,
    Symbol,
    TaskFuncValue,
    TaskNode,
    Unknown,
    XComRef,
)

_BINOPS = {
    cst.Add: op.add,
    cst.Subtract: op.sub,
    cst.Multiply: op.mul,
    cst.Divide: op.truediv,
    cst.FloorDivide: op.floordiv,
    cst.Modulo: op.mod,
    cst.Power: op.pow,
    cst.BitOr: op.or_,
    cst.BitAnd: op.and_,
    cst.BitXor: op.xor,
    cst.LeftShift: op.lshift,
    cst.RightShift: op.rshift,
}
_CMPOPS = {
    cst.Equal: op.eq,
    cst.NotEqual: op.ne,
    cst.LessThan: op.lt,
    cst.LessThanEqual: op.le,
    cst.GreaterThan: op.gt,
    cst.GreaterThanEqual: op.ge,
    cst.Is: op.is_,
    cst.IsNot: op.is_not,
    cst.In: lambda a, b: a in b,
    cst.NotIn: lambda a, b: a not in b,
}


class _UnknownElements(Exception):
    """A `*starred` element of a list/tuple/set literal is not statically known."""


# Operator nodes (immutable, shared) for the links of a flattened chain.
_CHAIN_OPERATORS = {
    "+": cst.Add(),
    "-": cst.Subtract(),
    "*": cst.Multiply(),
    "@": cst.MatrixMultiply(),
    "/": cst.Divide(),
    "//": cst.FloorDivide(),
    "%": cst.Modulo(),
    "<<": cst.LeftShift(),
    ">>": cst.RightShift(),
    "&": cst.BitAnd(),
    "|": cst.BitOr(),
    "^": cst.BitXor(),
}


class Expressions:
    """Evaluates expression nodes. Needs the Interpreter's helpers, size caps and calls."""

    def eval(self, node: cst.CSTNode | None, scope: Scope):
        if node is None:
            return None
        handler = getattr(self, f"ex_{type(node).__name__}", None)
        if handler is None:
            return self.unknown(node)
        return handler(node, scope)

    def ex_Integer(self, node, scope):
        value = node.value
        if value.isascii() and value.isdigit() and len(value) < 20:  # plain decimal: no compile
            return int(value)
        return ast.literal_eval(value)

    def ex_Float(self, node, scope):
        return ast.literal_eval(node.value)

    ex_Imaginary = ex_Float

    def ex_SimpleString(self, node, scope):
        raw = node.value
        if len(raw) > 4096 and not self.afford(len(raw), node):  # a big literal in a loop
            return self.unknown(node)
        if raw[:1] in "'\"" and "\\" not in raw:  # no prefix, no escapes: skip ast.literal_eval
            quote = 3 if raw[:3] in ('"""', "'''") else 1
            return raw[quote:-quote]
        try:
            return node.evaluated_value
        except Exception:
            return self.unknown(node)

    def ex_ConcatenatedString(self, node, scope):
        left, right = self.eval(node.left, scope), self.eval(node.right, scope)
        if isinstance(left, type(right)) and isinstance(left, (str, bytes)):
            if not self.afford(len(left) + len(right), node):
                return self.unknown(node, "template")
            return left + right
        return self.unknown(node, "template")

    def ex_FormattedString(self, node, scope):
        try:
            return self._formatted_string(node, scope)
        except TooLarge:
            return self.unknown(node, "template")

    def _formatted_string(self, node, scope):
        out = []
        length = 0
        runtime = False
        for part in node.parts:
            if isinstance(part, cst.FormattedStringText):
                out.append(part.value.replace("{{", "{").replace("}}", "}"))
                length += len(out[-1])
                continue
            value = self.eval(part.expression, scope)
            if (
                isinstance(value, Unknown)
                or has_unknown(value)
                or not isinstance(value, LITERAL_TYPES)
            ):
                return self.unknown(node, "template")
            if part.conversion == "r":
                value = repr(value)
            elif part.conversion == "s":
                value = str(value)
            spec = ""
            if part.format_spec:
                spec_value = self.ex_FormattedString(
                    cst.FormattedString(parts=part.format_spec), scope
                )
                if isinstance(spec_value, Unknown):
                    return self.unknown(node, "template")
                spec = spec_value
            grow = self.printed(value, node) + format_width(spec)
            length += grow
            if length > self.limits.value or not self.afford(grow, node):
                self.note_too_large(node, length)
                raise TooLarge()
            try:
                out.append(format(value, spec))
            except Exception:
                return self.unknown(node, "template")
            runtime = runtime or type(value) is RuntimeText
        text = "".join(out)
        return RuntimeText(text) if runtime else text  # still a value read at parse time

    def ex_Name(self, node, scope):
        name = node.value
        if name == "True":
            return True
        if name == "False":
            return False
        if name == "None":
            return None
        try:
            return scope.lookup(name)
        except KeyError:
            pass
        if name in SAFE_BUILTINS:
            return Symbol(f"builtins.{name}")
        return Unknown(name, "name", self.line(node))

    def ex_Ellipsis(self, node, scope):
        return ...

    def ex_List(self, node, scope):
        try:
            return self.elements(node.elements, scope, node)
        except (_UnknownElements, TooLarge):
            return self.unknown(node)

    def ex_Tuple(self, node, scope):
        elements = node.elements
        if elements and self.chains:
            first = elements[0].value
            if isinstance(first, cst.Name) and first.value in self.chains:
                return self.eval_chain(node, first.value, scope)
        try:
            return tuple(self.elements(elements, scope, node))
        except (_UnknownElements, TooLarge):
            return self.unknown(node)

    def ex_Set(self, node, scope):
        try:
            items = self.elements(node.elements, scope, node)
        except (_UnknownElements, TooLarge):
            return self.unknown(node)
        try:
            return set(items)
        except TypeError:
            return items

    def elements(self, elements, scope, node) -> list:
        out: list = []
        for e in elements:
            value = self.eval(e.value, scope)
            if isinstance(e, cst.StarredElement):
                it = self.iterable(value)
                if it is None:
                    raise _UnknownElements()
                if len(out) + len(it) > self.limits.value or not self.afford(len(it), node):
                    self.note_too_large(node, len(out) + len(it))
                    raise TooLarge()
                out.extend(it)
            else:
                out.append(value)
        if not self.afford(len(elements), node):
            raise TooLarge()
        return out

    def ex_Dict(self, node, scope):
        out: dict = {}
        if not self.afford(len(node.elements), node):
            return self.unknown(node)
        for e in node.elements:
            if isinstance(e, cst.StarredDictElement):
                value = self.eval(e.value, scope)
                if isinstance(value, dict):
                    if not self.afford(len(value), node):
                        return self.unknown(node)
                    out.update(value)
                continue
            key = self.eval(e.key, scope)
            if isinstance(key, Unknown):
                key = f"<{key.source}>"
            try:
                out[key] = self.eval(e.value, scope)
            except TypeError:
                pass
        return out

    def ex_Attribute(self, node, scope):
        base = self.eval(node.value, scope)
        return self.get_attr(base, node.attr.value, node)

    def ex_Subscript(self, node, scope):
        base = self.eval(node.value, scope)
        if len(node.slice) != 1:
            return self.unknown(node)
        sl = node.slice[0].slice
        if isinstance(sl, cst.Index):
            key = self.eval(sl.value, scope)
        else:
            parts = [
                self.eval(x, scope) if x is not None else None
                for x in (sl.lower, sl.upper, sl.step)
            ]
            if any(isinstance(p, Unknown) for p in parts):
                return self.unknown(node)
            key = slice(*parts)
        if isinstance(base, XComRef):  # Airflow: output["k"] is the XCom pushed under key "k"
            return XComRef(base.tasks, key if isinstance(key, str) else base.key)
        if isinstance(base, Symbol) and base.name == "os.environ" and type(key) is str:
            return environment_text(key, None)
        if isinstance(base, GroupNode) and isinstance(key, str):
            return base.children.get(base.child_id(key), self.unknown(node))
        if isinstance(key, Unknown) or not isinstance(base, (dict, list, tuple, str, range)):
            return self.unknown(node)
        try:
            return base[key]
        except Exception:
            return self.unknown(node)

    def ex_BinaryOperation(self, node, scope):
        # Left-nested chains (`a >> b >> c`, `1 + 2 + 3`) are walked in a loop, not recursively.
        spine = [node]
        while isinstance(spine[-1].left, cst.BinaryOperation):
            spine.append(spine[-1].left)
        value = self.eval(spine[-1].left, scope)
        for link in reversed(spine):
            value = self.binary(link.operator, value, self.eval(link.right, scope), link)
        return value

    def eval_chain(self, node: cst.Tuple, marker: str, scope):
        """A long chain handed to libcst flat as `(marker, a, b, c)`: `a op b op c`, link by link."""
        chain = self.chains[marker]
        operands = node.elements[1:]
        if len(operands) != len(chain.ops) + 1:
            return self.unknown(node)
        self._chain_nodes.setdefault(id(node), None)
        value = self.eval(operands[0].value, scope)
        for link, (op_text, element) in enumerate(zip(chain.ops, operands[1:], strict=True)):
            right = self.eval(element.value, scope)
            self._chain_link = (node, chain, link)
            value = self.binary(_CHAIN_OPERATORS[op_text], value, right, node)
        self._chain_link = None
        return value

    def binary(self, operator, left, right, node):
        """`left <operator> right` for a libcst operator node; `node` is reported."""
        if isinstance(operator, cst.RightShift) and (
            deps.is_dependency(left) or deps.is_dependency(right)
        ):
            return self.dependency(deps.rshift, left, right, node)
        if isinstance(operator, cst.LeftShift) and (
            deps.is_dependency(left) or deps.is_dependency(right)
        ):
            return self.dependency(deps.lshift, left, right, node)
        if isinstance(operator, (cst.RightShift, cst.LeftShift)) and (
            isinstance(left, (list, tuple)) or isinstance(right, (list, tuple))
        ):
            return self.dependency(
                deps.rshift if isinstance(operator, cst.RightShift) else deps.lshift,
                left,
                right,
                node,
            )
        fn = _BINOPS.get(type(operator))
        return self.binop(fn, left, right, node) if fn else self.unknown(node)

    def dependency(self, fn, left, right, node):
        try:
            return fn(left, right)
        except deps.DependencyError as exc:
            link = self._chain_link
            if link is not None and link[0] is node:  # a link of a long chain: its text so far
                text = link[1].prefix(link[2])
                text = text if len(text) <= 200 else text[:60] + " ... " + text[-60:]
            else:
                text = self.src(node)
            self.diag("BRG104", node, f"`{text}`: {exc}; this dependency was not recorded")
            return right

    def binop(self, fn, left, right, node):
        if isinstance(left, Unknown) or isinstance(right, Unknown):
            return self.unknown(
                node, "template" if isinstance(left, str) or isinstance(right, str) else "expr"
            )
        if not isinstance(left, LITERAL_TYPES) or not isinstance(right, LITERAL_TYPES):
            return self.unknown(node)
        if fn is op.mod and isinstance(left, str) and has_unknown(right):
            return self.unknown(node, "template")
        try:
            if fn is op.pow and isinstance(right, int) and right > 1000:
                return self.unknown(node)
            size = self.binop_size(fn, left, right, node)
            if size is not None and not self.afford(size, node):
                return self.unknown(node)
            return fn(left, right)
        except TooLarge:
            return self.unknown(node)
        except Exception:
            return self.unknown(node)

    def ex_UnaryOperation(self, node, scope):
        value = self.eval(node.expression, scope)
        if isinstance(node.operator, cst.Not):
            truth = self.truth(value)
            return self.unknown(node) if truth is None else not truth
        if (
            isinstance(value, (int, float))
            and not isinstance(value, bool)
            or isinstance(value, bool)
        ):
            if isinstance(node.operator, cst.Minus):
                return -value
            if isinstance(node.operator, cst.Plus):
                return +value
            if isinstance(node.operator, cst.BitInvert):
                return ~value
        return self.unknown(node)

    def ex_BooleanOperation(self, node, scope):
        left = self.eval(node.left, scope)
        truth = self.truth(left)
        if truth is None:
            return self.unknown(node)
        if isinstance(node.operator, cst.And):
            return self.eval(node.right, scope) if truth else left
        return left if truth else self.eval(node.right, scope)

    def ex_Comparison(self, node, scope):
        left = self.eval(node.left, scope)
        for target in node.comparisons:
            right = self.eval(target.comparator, scope)
            if has_unknown(left) or has_unknown(right):
                return self.unknown(node)
            fn = _CMPOPS.get(type(target.operator))
            try:
                result = fn(left, right)
            except Exception:
                return self.unknown(node)
            if not result:
                return False
            left = right
        return True

    def ex_IfExp(self, node, scope):
        truth = self.truth(self.eval(node.test, scope))
        if truth is None:
            return self.unknown(node)
        return self.eval(node.body if truth else node.orelse, scope)

    def ex_Lambda(self, node, scope):
        return FunctionValue(
            node,
            "<lambda>",
            scope,
            self.param_defaults(node.params, scope),
            self.line(node),
            self.end_line(node),
        )

    def ex_NamedExpr(self, node, scope):
        value = self.eval(node.value, scope)
        self.assign(node.target, value, scope)
        return value

    def comprehension(self, node, scope, make):
        inner = Scope(scope, scope.module)
        results: list = []

        def loop(comp: cst.CompFor) -> bool:
            items = self.iterable(self.eval(comp.iter, inner))
            if items is None:
                return False
            for item in items:
                self.tick(node)
                self.assign(comp.target, item, inner)
                if all(self.truth(self.eval(cond.test, inner)) for cond in comp.ifs):
                    if comp.inner_for_in is not None:
                        if not loop(comp.inner_for_in):
                            return False
                    else:
                        if len(results) >= self.limits.value or not self.afford(1, node):
                            self.note_too_large(node, len(results) + 1)
                            return False
                        results.append(make(inner))
            return True

        if not loop(node.for_in):
            return self.unknown(node)
        return results

    def ex_ListComp(self, node, scope):
        return self.comprehension(node, scope, lambda s: self.eval(node.elt, s))

    ex_GeneratorExp = ex_ListComp

    def ex_SetComp(self, node, scope):
        out = self.comprehension(node, scope, lambda s: self.eval(node.elt, s))
        try:
            return set(out) if isinstance(out, list) else out
        except TypeError:
            return out

    def ex_DictComp(self, node, scope):
        out = self.comprehension(
            node, scope, lambda s: (self.eval(node.key, s), self.eval(node.value, s))
        )
        if isinstance(out, list):
            try:
                return dict(out)
            except TypeError:
                return self.unknown(node)
        return out

    # ---- attributes ----------------------------------------------------------------------

    def get_attr(self, base, name: str, node: cst.CSTNode):
        stored = self.attributes.get((id(base), name))
        if stored is not None and stored[0] is base:
            return stored[1]
        if isinstance(base, SdkCall):
            return SdkMethod(base, name)
        if isinstance(base, Symbol):
            if base.name == "airflow.sdk.TriggerRule" and name.isupper():
                return name.lower()  # a str enum: its members compare equal to their values
            return Symbol(canonical(f"{base.name}.{name}"))
        if isinstance(base, TaskNode):
            if name == "output":
                return XComRef([base])
            if name == "task_id":
                return base.task_id
            if name == "dag":
                return base.dag
            return self.method(base, name, node)
        if isinstance(base, XComRef):
            if name == "operator":
                return base.operator
            if name == "output":
                return base
            return self.method(base, name, node)
        if isinstance(base, DagNode):
            if name == "dag_id":
                return base.dag_id
            return self.method(base, name, node)
        if isinstance(base, GroupNode):
            if name == "group_id":
                return base.group_id
            return self.method(base, name, node)
        if isinstance(base, (LabelNode, TaskFuncValue, GroupFuncValue, PartialValue, ClassValue)):
            return self.method(base, name, node)
        if isinstance(base, DecoratorFactory):
            return self.unknown(node)
        if isinstance(base, ParamValue) and name == "value":
            return base.default
        if isinstance(base, LITERAL_TYPES) and not isinstance(base, (type(None), bool)):
            if hasattr(base, name) and not name.startswith("_"):
                attr = getattr(base, name)
                if callable(attr):
                    return BuiltinMethod(base, name)
                if isinstance(attr, LITERAL_TYPES):
                    return attr
        return self.unknown(node)
