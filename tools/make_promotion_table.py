"""Write tests/data/promotion_table.json: PyTorch's result dtypes for gradwise's elementwise ops.

    python tools/make_promotion_table.py            # needs torch (pip install gradwise[oracle])
    python tools/make_promotion_table.py --check    # exit 1 if the stored table differs

For every op of :data:`OPS`, every dtype pair of :data:`DTYPES` and every operand form of
:data:`FORMS` it records what PyTorch returns: the result's dtype, or ``x`` when PyTorch
refuses the call (an op not implemented for a dtype, a bitwise op on floats, an in-place
result it cannot cast back).  ``tests/ops/test_promotion.py`` checks gradwise against the
stored JSON, so the test never needs torch.

Layout: ``ops[op][form][dtype_a]`` is one string of short dtype codes (:data:`CODES`), one
per column: the dtypes of :data:`DTYPES` for the tensor forms, the scalar kinds of
:data:`SCALARS` for the scalar forms.  ``ops["add"]["nn"]["int64"]`` holds ``int64 + dtype_b``
for each ``dtype_b``.

Forms (``n`` an n-d tensor of shape (3,), ``0`` a 0-d tensor, ``s`` a Python scalar of the
kinds in :data:`SCALARS`):

* ``nn``: ``op(n_a, n_b)``, every ordered pair of dtypes (so both orders);
* ``n0`` / ``0n``: a 0-d tensor on the right / left;
* ``ns`` / ``sn``: a Python scalar on the right / left; ``0s``: a scalar with a 0-d tensor;
* ``in`` / ``is``: the in-place form ``n_a.op_(n_b)`` / ``n_a.op_(scalar)``.

Where PyTorch has no overload for a Python scalar at that position (``torch.maximum(t, 2.5)``,
``torch.atan2``, the logical ops, a scalar left of a function), gradwise still takes one; the
entry is then PyTorch's answer with the scalar passed as a 0-d tensor of the scalar's default
dtype (bool, int64, the default float, its complex), which promotes exactly as the scalar
would against an n-d tensor. ``"standin"`` lists those (op, form) pairs.
"""

from __future__ import annotations

import argparse
import json
import operator
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TABLE = ROOT / "tests" / "data" / "promotion_table.json"

DTYPES = ("bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64",
          "complex64", "complex128")
SCALARS: dict[str, Any] = {"bool": True, "int": 2, "float": 2.5, "complex": complex(2.0, 1.0)}
FORMS = ("nn", "n0", "0n", "ns", "sn", "0s", "in", "is")
CODES = {"bool": "b1", "uint8": "u8", "int8": "i8", "int16": "i16", "int32": "i32", "int64": "i64",
         "float16": "f16", "float32": "f32", "float64": "f64", "complex32": "c32", "complex64": "c64",
         "complex128": "c128", "error": "x"}

# op name -> (the torch function, its in-place method or None, the operator that takes a
# Python scalar on the left or None: then a scalar on the left goes through the function)
OPS: dict[str, tuple[str, str | None, str | None]] = {
    "add": ("add", "add_", "+"), "sub": ("sub", "sub_", "-"), "mul": ("mul", "mul_", "*"),
    "div": ("div", "div_", "/"), "floor_divide": ("floor_divide", "floor_divide_", "//"),
    "remainder": ("remainder", "remainder_", "%"), "pow": ("pow", "pow_", "**"),
    "eq": ("eq", None, "=="), "ne": ("ne", None, "!="), "lt": ("lt", None, "<"),
    "le": ("le", None, "<="), "gt": ("gt", None, ">"), "ge": ("ge", None, ">="),
    "maximum": ("maximum", None, None), "minimum": ("minimum", None, None),
    "arctan2": ("atan2", None, None),
    "bitwise_and": ("bitwise_and", None, "&"), "bitwise_or": ("bitwise_or", None, "|"),
    "bitwise_xor": ("bitwise_xor", None, "^"),
    "logical_and": ("logical_and", None, None), "logical_or": ("logical_or", None, None),
    "logical_xor": ("logical_xor", None, None),
    "where": ("where", None, None),        # torch.where(cond, a, b)
    "clamp": ("clamp", "clamp_", None),    # torch.clamp(a, min=b)
}
REFLECTED: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
    "//": operator.floordiv, "%": operator.mod, "**": operator.pow, "==": operator.eq,
    "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
    "&": operator.and_, "|": operator.or_, "^": operator.xor,
}


def _operands(torch: Any) -> tuple[Callable[[str], Any], Callable[[str], Any]]:
    def nd(name: str) -> Any:   # no zeros: integer division by zero raises
        return torch.tensor([1, 2, 3]).to(getattr(torch, name))

    def zero(name: str) -> Any:
        return torch.tensor(True if name == "bool" else 2).to(getattr(torch, name))

    return nd, zero


def _call(torch: Any, op: str, a: Any, b: Any) -> Any:
    if op == "where":
        return torch.where(torch.tensor([True, False, True]), a, b)
    if op == "clamp":
        return torch.clamp(a, min=b)
    return getattr(torch, OPS[op][0])(a, b)


def _reflected(torch: Any, op: str, s: Any, t: Any) -> Any:
    sym = OPS[op][2]
    if sym is None:
        return _call(torch, op, s, t)
    return REFLECTED[sym](s, t)


def _result(f: Callable[[], Any]) -> str:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = f()
    except (RuntimeError, TypeError, NotImplementedError, ValueError):
        return "error"
    return str(r.dtype).replace("torch.", "")


def _through_result_type(torch: Any, op: str, a: Any, scalar: Any, left: bool) -> Any:
    """``op`` on ``a`` and ``scalar`` where PyTorch refuses a Python scalar: both operands
    cast to ``torch.result_type(a, scalar)`` first (how PyTorch computes every elementwise
    op), so the entry is the op's output dtype for the promoted computation."""
    rt = torch.result_type(a, scalar)
    s = torch.tensor(scalar).to(rt)
    a = a.to(rt)
    return _call(torch, op, s, a) if left else _call(torch, op, a, s)


def _takes_scalar(torch: Any, op: str, left: bool) -> bool:
    """Whether PyTorch has an overload with a Python scalar on that side of ``op``."""
    t = torch.tensor([1, 2, 3])
    try:
        if left:
            _reflected(torch, op, 2, t)
        else:
            _call(torch, op, t, 2)
    except TypeError:
        return False
    except (RuntimeError, NotImplementedError):
        return True    # an overload that takes it, refusing these dtypes
    return True


def build() -> dict[str, Any]:
    import torch

    torch.set_default_dtype(torch.float32)
    nd, zero = _operands(torch)
    ops: dict[str, dict[str, dict[str, str]]] = {}
    standin: dict[str, list[str]] = {}
    for op in OPS:
        takes_right = _takes_scalar(torch, op, left=False)
        takes_left = _takes_scalar(torch, op, left=True)
        for form, ok in (("ns", takes_right), ("0s", takes_right), ("sn", takes_left)):
            if not ok:
                standin.setdefault(op, []).append(form)
        inplace = OPS[op][1]
        table: dict[str, dict[str, list[str]]] = {f: {} for f in FORMS}

        def put(form: str, a: str, result: str) -> None:
            table[form].setdefault(a, []).append(CODES[result])

        for a in DTYPES:
            for b in DTYPES:
                put("nn", a, _result(lambda: _call(torch, op, nd(a), nd(b))))
                put("n0", a, _result(lambda: _call(torch, op, nd(a), zero(b))))
                put("0n", a, _result(lambda: _call(torch, op, zero(a), nd(b))))
                if inplace:
                    put("in", a, _result(lambda: getattr(nd(a), inplace)(nd(b))))
            for s in SCALARS.values():

                def with_scalar(t: Any, s: Any = s, left: bool = False) -> Any:
                    if left:
                        return _reflected(torch, op, s, t) if takes_left else _through_result_type(
                            torch, op, t, s, True)
                    return _call(torch, op, t, s) if takes_right else _through_result_type(
                        torch, op, t, s, False)

                put("ns", a, _result(lambda: with_scalar(nd(a))))
                put("0s", a, _result(lambda: with_scalar(zero(a))))
                put("sn", a, _result(lambda: with_scalar(nd(a), left=True)))
                if inplace:
                    put("is", a, _result(lambda: getattr(nd(a), inplace)(s)))
        ops[op] = {f: {a: " ".join(row) for a, row in rows.items()} for f, rows in table.items() if rows}
    return {
        "about": "PyTorch's result dtypes for gradwise's elementwise ops; written by "
                 "tools/make_promotion_table.py, read by tests/ops/test_promotion.py",
        "torch_version": torch.__version__.split("+")[0],
        "default_dtype": "float32",
        "dtypes": list(DTYPES),
        "scalars": {k: [v.real, v.imag] if isinstance(v, complex) else v for k, v in SCALARS.items()},
        "forms": list(FORMS),
        "codes": {code: name for name, code in CODES.items()},
        "standin": standin,
        "ops": ops,
    }


def dump(table: dict[str, Any]) -> str:
    """JSON with one line per row of a table (small diffs when PyTorch changes a cell)."""
    lines = ["{"] + [f" {json.dumps(k)}: {json.dumps(v)}," for k, v in table.items() if k != "ops"]
    lines.append(' "ops": {')
    ops = list(table["ops"].items())
    for i, (op, forms) in enumerate(ops):
        lines.append(f"  {json.dumps(op)}: {{")
        for j, (form, rows) in enumerate(forms.items()):
            lines.append(f"   {json.dumps(form)}: {{")
            items = list(rows.items())
            for k, (a, row) in enumerate(items):
                lines.append(f"    {json.dumps(a)}: {json.dumps(row)}" + ("," if k < len(items) - 1 else ""))
            lines.append("   }" + ("," if j < len(forms) - 1 else ""))
        lines.append("  }" + ("," if i < len(ops) - 1 else ""))
    lines.append(" }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the stored table, write nothing")
    args = parser.parse_args(argv)
    text = dump(build())
    if args.check:
        stored = TABLE.read_text() if TABLE.exists() else ""
        if json.loads(stored or "{}").get("ops") != json.loads(text)["ops"]:
            print(f"{TABLE.relative_to(ROOT)} differs from PyTorch's answers; rerun without --check")
            return 1
        print(f"{TABLE.relative_to(ROOT)} matches PyTorch")
        return 0
    TABLE.parent.mkdir(parents=True, exist_ok=True)
    TABLE.write_text(text)
    print(f"wrote {TABLE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
