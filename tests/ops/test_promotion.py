"""Type promotion as PyTorch's ``torch.result_type``: a dtype x dtype x op matrix.

``tests/data/promotion_table.json`` holds PyTorch's answers (written by
``tools/make_promotion_table.py``; see its docstring for the forms and the layout): for
every elementwise op with several tensor inputs, every pair of the eleven dtypes PyTorch
and NumPy share, n-d and 0-d tensors and Python scalars (bool, int, float, complex) on
either side, and the in-place forms.  Every cell is checked through the function
(``gw.add``, the general ``apply``) and, where the op has one, the operator (``+``, the
unrolled ``make_binary``).  Where PyTorch refuses a call gradwise must refuse it too,
except for the cells :func:`_known_divergence` lists (each with its reason).

The live comparison with torch (values too) runs when torch is installed.
"""

from __future__ import annotations

import json
import operator
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import gradwise as gw
from gradwise import dtypes
from gradwise.autograd.function import check_inplace
from gradwise.errors import DtypeError
from gradwise.ops.registry import REGISTRY

TABLE = json.loads((Path(__file__).resolve().parent.parent / "data" / "promotion_table.json").read_text())
CODES: dict[str, str] = TABLE["codes"]
DTYPES: list[str] = TABLE["dtypes"]
SCALARS: dict[str, Any] = {k: complex(*v) if isinstance(v, list) else v for k, v in TABLE["scalars"].items()}
OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "add": operator.add, "sub": operator.sub, "mul": operator.mul, "div": operator.truediv,
    "floor_divide": operator.floordiv, "remainder": operator.mod, "pow": operator.pow,
    "eq": operator.eq, "ne": operator.ne, "lt": operator.lt, "le": operator.le, "gt": operator.gt,
    "ge": operator.ge, "bitwise_and": operator.and_, "bitwise_or": operator.or_, "bitwise_xor": operator.xor,
}
ORDERING = {"lt", "le", "gt", "ge", "maximum", "minimum", "clamp"}


def _nd(name: str) -> gw.Tensor:
    return gw.tensor([1, 2, 3]).to(name)      # no zeros: integer division by zero raises


def _zero_d(name: str) -> gw.Tensor:
    return gw.tensor(2).to(name)


def _function(op: str) -> Callable[[Any, Any], Any]:
    if op == "where":
        return lambda a, b: gw.where(gw.tensor([True, False, True]), a, b)
    if op == "clamp":
        return lambda a, b: gw.clamp(a, min=b)
    return getattr(gw, op)


def _operands(form: str, a: str, b: str) -> tuple[Any, Any]:
    """The two operands of one cell (``b`` names a dtype or, for the scalar forms, a scalar kind)."""
    left, right = form[0], form[1]
    make = {"n": _nd, "0": _zero_d}
    if form == "sn":
        return SCALARS[b], _nd(a)
    x = make[left](a)
    y = SCALARS[b] if right == "s" else make[right](b)
    return x, y


def _cells(op: str, forms: tuple[str, ...]) -> Iterator[tuple[str, str, str, str]]:
    """(form, dtype a, column b, PyTorch's answer: a dtype name or 'error')."""
    for form in forms:
        rows = TABLE["ops"][op].get(form, {})
        for a, row in rows.items():
            cols = DTYPES if form in ("nn", "n0", "0n", "in") else list(SCALARS)
            for b, code in zip(cols, row.split(), strict=True):
                yield form, a, b, CODES[code]


def _known_divergence(op: str, form: str, a: str, b: str) -> str:
    """Why gradwise differs from PyTorch in a cell ('' where it must agree).

    None of these is a promotion rule: each is an op PyTorch does not define for a dtype
    (it refuses), which NumPy does define (gradwise computes).
    """
    complex_ = {a, b} & {"complex64", "complex128", "complex"}
    if "float16" in {a, b} and complex_:
        return "PyTorch promotes float16 with a complex to complex32 (NumPy has none): gradwise uses complex64"
    if op in ORDERING and (complex_ or (form == "sn" and a.startswith("complex"))):
        return "ordering complex numbers: NumPy compares lexicographically, PyTorch refuses"
    if op in ("floor_divide", "remainder", "pow", "clamp") and a == "bool" and b == "bool":
        # (a bool tensor ** True is bool in PyTorch; NumPy's bool ** bool is int8)
        return "floor_divide/remainder/pow/clamp of bools: NumPy computes (int8 or bool), PyTorch refuses"
    return ""


def _got(call: Callable[[], Any]) -> str:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return call().dtype.name
    except (TypeError, ValueError, RuntimeError):
        return "error"


def _expected(want: str) -> str:
    return "complex64" if want == "complex32" else want


# ----------------------------------------------------------------------------- the matrix
@pytest.mark.parametrize("op", sorted(TABLE["ops"]))
def test_result_dtypes_match_torch(op: str) -> None:
    paths: dict[str, Callable[[Any, Any], Any]] = {"function": _function(op)}
    if op in OPERATORS:
        paths["operator"] = OPERATORS[op]
    wrong = []
    for form, a, b, want in _cells(op, ("nn", "n0", "0n", "ns", "sn", "0s")):
        for path, f in paths.items():
            got = _got(lambda f=f: f(*_operands(form, a, b)))
            if got == _expected(want):
                continue
            if _known_divergence(op, form, a, b):
                continue
            wrong.append(f"{op} {form} ({a}, {b}) via {path}: torch {want}, gradwise {got}")
    assert not wrong, f"{len(wrong)} cells differ from PyTorch:\n" + "\n".join(wrong[:40])


def test_the_table_covers_every_promoting_op() -> None:
    # every op declared with a promotion rule has its row in the table, and the ops of the
    # table that declare none (the logical ops) need none: NumPy returns bool for any operands
    assert set(dtypes.PROMOTION) <= set(TABLE["ops"])
    assert set(TABLE["ops"]) - set(dtypes.PROMOTION) == {"logical_and", "logical_or", "logical_xor"}


@pytest.mark.parametrize("op", sorted(o for o in TABLE["ops"] if "in" in TABLE["ops"][o]))
def test_inplace_keeps_the_dtype_or_refuses_as_torch(op: str) -> None:
    opdef = REGISTRY[op]
    wrong = []
    for form, a, b, want in _cells(op, ("in", "is")):
        x, y = _operands("n" + form[1], a, b)
        if want == "error":
            if _known_divergence(op, form, a, b):
                continue
            try:   # refused as a cast (check_inplace) or as an op NumPy lacks (complex //)
                check_inplace(opdef, x, [y])
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    getattr(x, op + "_")(y)
            except (TypeError, ValueError):
                continue
            wrong.append(f"{op}_ {form} ({a}, {b}): torch refuses, gradwise accepts")
        else:
            check_inplace(opdef, x, [y])    # must not raise
            if op == "pow" and a == "bool":
                continue                     # NumPy's bool ** bool is int8 (cast back to bool)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out = getattr(x, op + "_")(y)
            if out is not x or x.dtype.name != a or want != a:
                wrong.append(f"{op}_ {form} ({a}, {b}): torch {want}, gradwise {x.dtype.name}")
    assert not wrong, "\n".join(wrong[:40])


def test_inplace_methods_refuse_a_result_they_cannot_hold() -> None:
    x = gw.tensor([1, 2, 3])
    with pytest.raises(DtypeError, match="result type Float can't be cast to the desired output type Long"):
        x += 1.5
    with pytest.raises(DtypeError, match="result type Float can't be cast"):
        x.div_(2)
    with pytest.raises(DtypeError, match="result type Long can't be cast to the desired output type Bool"):
        gw.tensor([True]).add_(1)


def test_check_inplace_messages_name_both_dtypes() -> None:
    with pytest.raises(DtypeError, match="add_: result type Float can't be cast to the desired output type Long"):
        check_inplace(REGISTRY["add"], gw.tensor([1, 2]), [1.5])
    with pytest.raises(DtypeError, match="div_: result type Float can't be cast .* Long"):
        check_inplace(REGISTRY["div"], gw.tensor([1, 2]), [2])
    with pytest.raises(DtypeError, match="ComplexFloat can't be cast to the desired output type Float"):
        check_inplace(REGISTRY["mul"], gw.ones(2), [1j])
    check_inplace(REGISTRY["add"], gw.ones(2), [gw.ones(2, dtype=gw.float64)])   # float64 into float32: allowed
    check_inplace(REGISTRY["floor_divide"], gw.tensor([1, 2]), [2])


# ----------------------------------------------------------------------------- the rules
def test_the_examples_of_the_issue() -> None:
    f32, i64 = gw.ones(3), gw.tensor([1, 2, 3])
    assert (f32 * i64).dtype == gw.float32 and (i64 * f32).dtype == gw.float32
    assert (i64 / 2).dtype == gw.float32 and (i64 / i64).dtype == gw.float32
    assert (i64 * 1.5).dtype == gw.float32 and (1.5 * i64).dtype == gw.float32
    assert (i64 // 2).dtype == gw.int64 and (i64 // i64).dtype == gw.int64
    assert (i64 + 1j).dtype == gw.complex64 and (f32.double() + 1j).dtype == gw.complex128
    assert (f32 + gw.tensor(2.0, dtype=gw.float64)).dtype == gw.float32        # 0-d: same category
    assert (i64 + gw.tensor(2.0, dtype=gw.float64)).dtype == gw.float64        # 0-d: higher category
    assert (gw.tensor(2, dtype=gw.int32) + 5).dtype == gw.int32                 # 0-d with a scalar
    assert (gw.ones(2, dtype=gw.uint8) + gw.ones(2, dtype=gw.int8)).dtype == gw.int16
    assert (gw.ones(3, dtype=gw.float16) + i64).dtype == gw.float16
    assert (gw.tensor([True]) + 2).dtype == gw.int64 and (gw.tensor([True]) * 2.5).dtype == gw.float32
    assert gw.atan2(i64, i64).dtype == gw.float32
    assert gw.where(i64 > 1, i64, 2.5).dtype == gw.float32
    assert i64.clamp(min=0.5).dtype == gw.float32 and i64.clamp(min=0).dtype == gw.int64
    assert (i64 == 2.5).dtype == gw.bool and not (i64 == 2.5).any()             # compared as floats


def test_values_are_computed_in_the_promoted_dtype() -> None:
    i = gw.tensor([1, 2, 3])
    assert (i / 2).tolist() == [0.5, 1.0, 1.5]
    assert (i * 1.5).tolist() == [1.5, 3.0, 4.5]
    assert (2.5 ** gw.tensor([1, 2])).tolist() == [2.5, 6.25]
    assert (gw.tensor([1], dtype=gw.int8) + 1000).tolist() == [-23]            # wraps around, as torch
    assert (gw.tensor([1], dtype=gw.uint8) + (-1)).tolist() == [0]
    f16 = gw.tensor([1.0, 2.0], dtype=gw.float16)
    assert (f16 * gw.tensor([3, 4])).tolist() == [3.0, 8.0] and (f16 * gw.tensor([3, 4])).dtype == gw.float16


def test_python_zero_constants_keep_their_sign() -> None:
    x = gw.ones(2)
    assert not np.signbit((x * 0.0).numpy()).any() and np.signbit((x * -0.0).numpy()).all()
    assert not np.signbit((x * 0).numpy()).any() and np.signbit((-0.0 * x).numpy()).all()


def test_anomaly_mode_promotes_alike() -> None:
    with gw.autograd.detect_anomaly():
        assert (gw.tensor([1, 2]) / 2).dtype == gw.float32
        assert (gw.ones(2, requires_grad=True) * gw.ones(2, dtype=gw.float64)).dtype == gw.float64


def test_sub_refuses_bool_operands() -> None:
    with pytest.raises(DtypeError, match="subtraction, the `-` operator, with a bool tensor"):
        gw.tensor([1, 2]) - gw.tensor([True, False])
    with pytest.raises(DtypeError, match="with a bool tensor"):
        gw.ones(2) - True
    with pytest.raises(TypeError):
        gw.tensor([True]) - gw.tensor([False])


@pytest.fixture()
def float64_default() -> Iterator[None]:
    before = gw.get_default_dtype()
    gw.set_default_dtype(gw.float64)
    try:
        yield
    finally:
        gw.set_default_dtype(before)


@pytest.mark.usefixtures("float64_default")
def test_the_default_dtype_decides_for_python_floats_and_integer_division() -> None:
    i = np.arange(1, 4)
    assert (gw.tensor(i) / 2).dtype == gw.float64 and (gw.tensor(i) * 0.5).dtype == gw.float64
    assert (gw.tensor(i) + 1j).dtype == gw.complex128
    assert (gw.ones(2, dtype=gw.float32) * 0.5).dtype == gw.float32   # a float tensor keeps its dtype


def test_numpy_operands_are_tensors_of_their_dtype() -> None:
    x = gw.ones(3)
    assert (x + np.ones(3)).dtype == gw.float64                  # an n-d float64 array: as a tensor
    assert (np.ones(3) + x).dtype == gw.float64
    assert (x + np.array(2.0)).dtype == gw.float32               # a 0-d array: a 0-d tensor
    assert (x * np.float64(2.0)).dtype == gw.float32             # a NumPy scalar: a Python scalar
    assert (x * np.ones(3).mean()).dtype == gw.float32
    assert (gw.tensor([1, 2]) + np.ones(2, dtype=np.float16)).dtype == gw.float16
    assert (x + [1.0, 2.0, 3.0]).dtype == gw.float32             # a list: gw.tensor(list)


def test_gradients_come_back_in_each_inputs_dtype() -> None:
    x = gw.tensor([1.0, 2.0], requires_grad=True)
    y = gw.tensor([3.0, 4.0], dtype=gw.float64, requires_grad=True)
    s = gw.tensor(0.5, dtype=gw.float64, requires_grad=True)     # 0-d: does not widen x
    out = x * y + x * s
    assert out.dtype == gw.float64
    out.sum().backward()
    assert x.grad.dtype == gw.float32 and y.grad.dtype == gw.float64 and s.grad.dtype == gw.float64
    assert x.grad.tolist() == [3.5, 4.5] and y.grad.tolist() == [1.0, 2.0] and s.grad.item() == 3.0
    x.grad = None
    z = gw.maximum(x, gw.tensor([1.5, 1.5], dtype=gw.float16)) * gw.tensor([2, 3])
    assert z.dtype == gw.float32
    z.sum().backward()
    assert x.grad.dtype == gw.float32 and x.grad.tolist() == [0.0, 3.0]


def test_a_float_tensor_with_a_python_number_takes_no_cast() -> None:
    # the common case keeps the operand arrays as they are (no copy)
    from gradwise.autograd.function import _PROMOTERS, promote_operands
    a = np.ones(3, dtype=np.float32)
    datas = [a, 2.5]
    assert _PROMOTERS[REGISTRY["mul"]](datas) is datas
    assert _PROMOTERS[REGISTRY["div"]]([a, a])[0] is a
    out = promote_operands(dtypes.COMMON, 0, [a, np.ones(3)])
    assert out is not None and out[0].dtype == np.float64 and out[1].dtype == np.float64
    assert dtypes.result_type(np.ones(2, np.int64), 2.5) == np.float32


# ----------------------------------------------------------------------------- layers
def _linear_error(model: Any, x: Any) -> str:
    with pytest.raises(DtypeError) as info:
        model(x)
    return str(info.value)


def test_a_float64_input_to_a_float32_layer_raises_as_torch() -> None:
    lin = gw.nn.Linear(3, 2)
    msg = _linear_error(lin, gw.tensor(np.ones((4, 3))))
    assert "linear: mat1 and mat2 must have the same dtype, but got Double and Float" in msg
    assert "x.float()" in msg and "model.double()" in msg
    assert "but got Long and Float" in _linear_error(lin, gw.tensor([[1, 2, 3]]))
    assert "but got Double and Float" in _linear_error(lin, gw.ones(2, 4, 3, dtype=gw.float64))  # 3-D input
    assert lin(gw.ones(4, 3)).dtype == gw.float32
    assert lin.double()(gw.tensor(np.ones((4, 3)))).dtype == gw.float64
    with pytest.raises(DtypeError, match="bias and weight must have the same dtype"):
        gw.nn.functional.linear(gw.ones(2, 3), gw.ones(4, 3), gw.zeros(4, dtype=gw.float64))


def test_matmul_and_convolutions_refuse_mixed_dtypes() -> None:
    with pytest.raises(DtypeError, match="matmul: mat1 and mat2 must have the same dtype, but got Float and Double"):
        gw.ones(2, 3) @ gw.ones(3, 2, dtype=gw.float64)
    with pytest.raises(DtypeError, match="matmul: .* but got Long and Float"):
        gw.tensor([[1, 2]]) @ gw.ones(2, 2)
    assert (gw.tensor([[1, 2]]) @ gw.tensor([[1], [2]])).tolist() == [[5]]    # one integer dtype: fine
    with pytest.raises(DtypeError, match="matmul"):
        gw.ones(2, 3) @ np.ones((3, 2))                                     # an ndarray is a tensor
    conv = gw.nn.Conv2d(1, 2, 3)
    with pytest.raises(DtypeError, match="conv2d: input and weight must have the same dtype, but got Double and "
                                         "Float.*x.float\\(\\).*model.double\\(\\)"):
        conv(gw.ones(1, 1, 5, 5, dtype=gw.float64))
    with pytest.raises(DtypeError, match="conv1d: input and weight"):
        gw.nn.Conv1d(1, 2, 3)(gw.ones(1, 1, 5, dtype=gw.float64))
    with pytest.raises(DtypeError, match="conv_transpose2d: input and weight"):
        gw.nn.ConvTranspose2d(1, 2, 3)(gw.ones(1, 1, 5, 5, dtype=gw.float64))
    with pytest.raises(DtypeError, match="conv2d: bias and weight"):
        gw.conv2d(gw.ones(1, 1, 5, 5), gw.ones(2, 1, 3, 3), gw.zeros(2, dtype=gw.float64))
    assert conv.double()(gw.ones(1, 1, 5, 5, dtype=gw.float64)).dtype == gw.float64


def test_normalisations_refuse_mixed_dtypes() -> None:
    F = gw.nn.functional
    x = gw.ones(4, 3, dtype=gw.float64)
    with pytest.raises(DtypeError, match="batch_norm: input and running_mean"):
        F.batch_norm(x, gw.zeros(3), gw.ones(3), training=False)
    with pytest.raises(DtypeError, match="layer_norm: input and weight"):
        F.layer_norm(x, (3,), gw.ones(3))
    with pytest.raises(DtypeError, match="group_norm: input and weight"):
        F.group_norm(x.reshape(4, 3, 1), 3, gw.ones(3), gw.zeros(3))
    with pytest.raises(DtypeError, match="bilinear: input and weight"):
        F.bilinear(x, x, gw.ones(2, 3, 3))
    assert F.layer_norm(x, (3,)).dtype == gw.float64                  # no parameters: nothing to mix


# ----------------------------------------------------------------------------- live torch
def _to_torch(torch: Any, v: Any) -> Any:
    return torch.from_numpy(np.array(v.numpy())) if isinstance(v, gw.Tensor) else v


@pytest.mark.parametrize("op", sorted(TABLE["ops"]))
def test_live_against_torch(op: str) -> None:
    torch = pytest.importorskip("torch")
    assert torch.get_default_dtype() == torch.float32
    f = _function(op)

    def torch_call(a: Any, b: Any) -> Any:
        if op == "where":
            return torch.where(torch.tensor([True, False, True]), a, b)
        if op == "clamp":
            return torch.clamp(a, min=b)
        name = {"arctan2": "atan2"}.get(op, op)
        if op in OPERATORS and not isinstance(a, torch.Tensor):
            return OPERATORS[op](a, b)
        if op in TABLE["standin"] and not isinstance(b, torch.Tensor):
            # torch takes no Python scalar here: computed in the promoted dtype, as gradwise does
            rt = torch.result_type(a, b)
            a, b = a.to(rt), torch.tensor(b, dtype=rt)
        return getattr(torch, name)(a, b)

    checked = 0
    for form, a, b, want in _cells(op, ("nn", "n0", "0n", "ns", "sn")):
        if want in ("error", "complex32") or (form == "sn" and op not in OPERATORS and op != "where"):
            continue
        if _known_divergence(op, form, a, b):
            continue
        x, y = _operands(form, a, b)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                expected = torch_call(_to_torch(torch, x), _to_torch(torch, y))
        except (TypeError, RuntimeError):
            continue
        got = f(x, y)
        assert str(expected.dtype).replace("torch.", "") == got.dtype.name, (op, form, a, b)
        np.testing.assert_allclose(got.numpy().astype(np.complex128), expected.numpy().astype(np.complex128),
                                   rtol=1e-3, err_msg=f"{op} {form} ({a}, {b})")
        checked += 1
    assert checked > 30


def test_live_layers_raise_where_torch_raises() -> None:
    torch = pytest.importorskip("torch")
    with pytest.raises(RuntimeError, match="mat1 and mat2 must have the same dtype, but got Double and Float"):
        torch.nn.Linear(3, 2)(torch.ones(4, 3, dtype=torch.float64))
    with pytest.raises(DtypeError, match="mat1 and mat2 must have the same dtype, but got Double and Float"):
        gw.nn.Linear(3, 2)(gw.ones(4, 3, dtype=gw.float64))
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired output type Long"):
        torch.tensor([1, 2]).add_(1.5)


def test_torch_style_promotion_functions_take_tensors() -> None:
    assert gw.result_type(gw.tensor([1, 2]), 1.5) == gw.float32
    assert gw.result_type(gw.tensor([1.0], dtype=gw.float64), gw.tensor(2.0)) == gw.float64
    assert gw.promote_types(gw.int64, gw.float16) == gw.float16
    assert gw.can_cast(gw.int64, gw.float32) and not gw.can_cast(gw.float32, gw.int64)
