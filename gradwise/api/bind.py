"""The one binder: the op table and the composite functions become the public API.

From each :class:`~gradwise.ops.registry.OpDef` it makes the ``gradwise.<name>``
function, the ``Tensor.<name>`` method, the in-place ``Tensor.<name>_`` variant and
the Python operators; then it adds the composite functions of :data:`COMPOSITES`
(functions built from several ops: ``split``, ``max(dim=)``, ``conv2d``,
``median``...), which take precedence over an op of the same name.  Every binding
ends in :func:`gradwise.autograd.function.apply`, the single path.

Static analysis does not run this: ``gradwise/api/functions.pyi`` and
``gradwise/autograd/tensor_ops.pyi`` declare what it binds, generated from the
same table by ``python -m gradwise.api.stubs`` (a test fails when they are stale).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from gradwise.api import compat, compat_more, compat_runtime, multi, network, reductions, sampling, sorting
from gradwise.autograd.function import apply, apply1, call, make_binary, make_unary
from gradwise.autograd.tensor import Tensor
from gradwise.ops.registry import REGISTRY, OpDef, VariadicGrads

# modules of composite functions: each has FUNCTIONS (name -> function) and METHODS
# (the names also bound as Tensor methods); later entries win over earlier ones and
# over ops of the same name
COMPOSITES = (multi, network, reductions, compat, sorting, sampling, compat_more, compat_runtime)


def _unary_plain(op: OpDef) -> bool:
    """One input, no attributes, not a view: eligible for the unrolled unary path."""
    return not isinstance(op.grads, VariadicGrads) and len(op.grads) == 1 and not op.view


def _make_function(op: OpDef) -> Callable[..., Any]:
    prepare = op.prepare
    fn: Callable[..., Tensor]
    if prepare is None and _unary_plain(op):
        fast = make_unary(op)

        def fn_unary(input: Any) -> Tensor:  # noqa: A002
            if isinstance(input, Tensor):
                return fast(input)
            return apply(op, input)
        fn = fn_unary
        sig = inspect.Signature([inspect.Parameter("input", inspect.Parameter.POSITIONAL_ONLY)])
    elif prepare is None:
        def fn_inputs(*inputs: Any) -> Tensor:
            return apply(op, *inputs)
        fn = fn_inputs
        grads = op.grads
        assert not isinstance(grads, VariadicGrads)  # variadic ops always have a prepare
        n = len(grads)
        params = [inspect.Parameter("input" if n == 1 else f"input{i}" if i else "input",
                                    inspect.Parameter.POSITIONAL_ONLY) for i in range(n)]
        if n == 2:
            params[1] = inspect.Parameter("other", inspect.Parameter.POSITIONAL_ONLY)
        sig = inspect.Signature(params)
    else:
        def fn_prepared(*args: Any, **kwargs: Any) -> Tensor:
            inputs, attrs = prepare(*args, **kwargs)
            return apply(op, *inputs, **attrs)
        fn = fn_prepared
        sig = inspect.signature(prepare)
    fn.__name__ = fn.__qualname__ = op.name
    fn.__doc__ = op.doc
    fn.__signature__ = sig  # type: ignore[union-attr]  # read by inspect; not declared on function types
    fn.__module__ = "gradwise"
    return fn


def _make_method(fn: Callable[..., Any], name: str, op: OpDef) -> Callable[..., Any]:
    if op.prepare is None and _unary_plain(op):
        method = make_unary(op)
    else:
        def method(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
            return fn(self, *args, **kwargs)
    method.__name__ = method.__qualname__ = name
    method.__doc__ = fn.__doc__
    return method


def _make_inplace(op: OpDef, name: str) -> Callable[..., Any]:
    prepare = op.prepare

    def method(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        if prepare is None:
            return self._inplace(op, *args)
        inputs, attrs = prepare(self, *args, **kwargs)
        return self._inplace(op, *inputs[1:], **attrs)
    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"In-place ``{op.name}``: stores the result in this tensor and returns it."
    return method


def bind_all() -> dict[str, Callable[..., Any]]:
    """Attach every op's methods and operators to Tensor; return the public functions by name.

    Binding twice changes nothing: a method already on Tensor is kept.
    """
    functions: dict[str, Callable[..., Any]] = {}
    for op in REGISTRY.values():
        fn = _make_function(op)
        if op.function:
            for name in (op.name, *op.aliases):
                functions.setdefault(name, fn)
        if op.method:
            for name in (op.name, *op.aliases):
                if name not in Tensor.__dict__:
                    setattr(Tensor, name, _make_method(fn, name, op))
        if op.inplace:
            for name in (op.name, *op.aliases):
                if name + "_" not in Tensor.__dict__:
                    setattr(Tensor, name + "_", _make_inplace(op, name + "_"))
    _bind_operators()
    for module in COMPOSITES:
        functions.update(module.FUNCTIONS)
        for name in module.METHODS:
            setattr(Tensor, name, module.FUNCTIONS[name])
    return functions


def _bind_operators() -> None:
    R = REGISTRY
    add, sub, mul, div, pw, mm = R["add"], R["sub"], R["mul"], R["div"], R["pow"], R["matmul"]
    fdiv, rem, neg = R["floor_divide"], R["remainder"], R["neg"]

    # The hottest calls in training loops: one closure per op (see make_binary).
    fadd, fsub, fmul, fdv = make_binary(add), make_binary(sub), make_binary(mul), make_binary(div)
    ffd, frem, fpw, fmm = make_binary(fdiv), make_binary(rem), make_binary(pw), make_binary(mm)
    __add__, __sub__, __mul__, __truediv__ = fadd, fsub, fmul, fdv
    __floordiv__, __mod__, __pow__, __matmul__ = ffd, frem, fpw, fmm
    def __radd__(self: Tensor, o: Any) -> Tensor: return fadd(o, self)
    def __rsub__(self: Tensor, o: Any) -> Tensor: return fsub(o, self)
    def __rmul__(self: Tensor, o: Any) -> Tensor: return fmul(o, self)
    def __rtruediv__(self: Tensor, o: Any) -> Tensor: return fdv(o, self)
    def __rfloordiv__(self: Tensor, o: Any) -> Tensor: return ffd(o, self)
    def __rmod__(self: Tensor, o: Any) -> Tensor: return frem(o, self)
    def __rpow__(self: Tensor, o: Any) -> Tensor: return fpw(o, self)
    def __rmatmul__(self: Tensor, o: Any) -> Tensor: return fmm(o, self)
    def __neg__(self: Tensor) -> Tensor: return apply1(neg, self)
    def __pos__(self: Tensor) -> Tensor: return self
    def __iadd__(self: Tensor, o: Any) -> Tensor: return self._inplace(add, o)
    def __isub__(self: Tensor, o: Any) -> Tensor: return self._inplace(sub, o)
    def __imul__(self: Tensor, o: Any) -> Tensor: return self._inplace(mul, o)
    def __itruediv__(self: Tensor, o: Any) -> Tensor: return self._inplace(div, o)
    def __ifloordiv__(self: Tensor, o: Any) -> Tensor: return self._inplace(fdiv, o)
    def __imod__(self: Tensor, o: Any) -> Tensor: return self._inplace(rem, o)
    def __ipow__(self: Tensor, o: Any) -> Tensor: return self._inplace(pw, o)

    ops = dict(locals())
    for name, fn in ops.items():
        if name.startswith("__") and name.endswith("__"):
            setattr(Tensor, name, fn)
    cmp = {"__eq__": "eq", "__ne__": "ne", "__lt__": "lt", "__le__": "le", "__gt__": "gt",
           "__ge__": "ge", "__and__": "bitwise_and", "__or__": "bitwise_or",
           "__xor__": "bitwise_xor"}
    for dunder, name in cmp.items():
        setattr(Tensor, dunder, _binary(R[name]))
    for dunder, name in {"__rand__": "bitwise_and", "__ror__": "bitwise_or",
                         "__rxor__": "bitwise_xor"}.items():
        setattr(Tensor, dunder, _reflected(R[name]))
    # set with setattr: these replace methods the class declares (type checkers forbid assigning to one)
    more: dict[str, Callable[..., Any]] = {"__invert__": lambda self: apply(R["bitwise_not"], self)}
    if "abs" in R:
        more["__abs__"] = lambda self: apply(R["abs"], self)
    if "getitem" in R:
        getitem = R["getitem"]
        more["__getitem__"] = lambda self, key: call(getitem, self, key)
    for dunder, method in more.items():
        setattr(Tensor, dunder, method)


def _binary(op: OpDef) -> Callable[..., Any]:
    return make_binary(op)


def _reflected(op: OpDef) -> Callable[..., Any]:
    f = make_binary(op)
    return lambda self, o: f(o, self)
