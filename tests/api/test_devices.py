"""Devices: ``gw.device``, ``Tensor.to``/``cpu``/``cuda``/``type``, ``device=`` on creation
functions, ``Module.to``, ``gw.cuda`` and ``gw.backends`` (PyTorch's API; gradwise is CPU only)."""

from __future__ import annotations

import inspect
import pickle

import numpy as np
import pytest

import gradwise as gw
from gradwise.api import creation


def _torch():
    return pytest.importorskip("torch")


def _assert_device_error(exc_info, device: str) -> None:
    err = exc_info.value
    assert isinstance(err, gw.GradwiseError) and isinstance(err, RuntimeError)
    text = str(err)
    assert repr(device) in text or device in text, text          # names the device
    assert "device='cpu'" in text and "gradwise.cuda.is_available()" in text, text   # says what to do


# ------------------------------------------------------------------------ device objects
DEVICE_SPECS = [("cpu",), ("cpu", 0), ("cpu:0",), ("cpu:3",), ("cuda",), ("cuda:1",), ("cuda", 2), ("mps",),
                ("meta",)]


@pytest.mark.parametrize("spec", DEVICE_SPECS, ids=str)
def test_device_parses_like_torch(spec):
    torch = _torch()
    g, t = gw.device(*spec), torch.device(*spec)
    assert (repr(g), str(g), g.type, g.index) == (repr(t), str(t), t.type, t.index)
    assert gw.device(g) == g and hash(gw.device(*spec)) == hash(g)


def test_device_equality_and_hash_follow_torch():
    torch = _torch()
    pairs = [("cpu", "cpu"), ("cpu", "cpu:0"), ("cpu:0", "cpu:0"), ("cpu", "cuda")]
    for a, b in pairs:
        assert (gw.device(a) == gw.device(b)) == (torch.device(a) == torch.device(b)), (a, b)
    # as in PyTorch, a device never equals a string: compare .type
    for s in ("cpu", "cpu:0"):
        assert (gw.device(s) == s) == (torch.device(s) == s) is False
        assert gw.device(s) != s
    assert gw.device("cpu").type == "cpu"
    assert len({gw.device("cpu"), gw.device("cpu"), gw.device("cpu:0")}) == 2


@pytest.mark.parametrize("bad", ["gpu", "cpu:x", "cpu:-1", "cuda:0:1", "CPU", ""])
def test_invalid_device_strings_raise_like_torch(bad):
    torch = _torch()
    with pytest.raises(RuntimeError):
        torch.device(bad)
    with pytest.raises(gw.DeviceError):
        gw.device(bad)


def test_device_argument_errors():
    with pytest.raises(gw.DeviceError, match="must not include an index"):
        gw.device("cpu:0", 1)
    with pytest.raises(gw.DeviceError, match="negative"):
        gw.device("cpu", -1)
    with pytest.raises(gw.DeviceError, match="cuda:0") as e:    # torch reads a bare int as an accelerator
        gw.device(0)
    _assert_device_error(e, "cuda:0")
    with pytest.raises(TypeError):
        gw.device(1.5)
    with pytest.raises(TypeError):
        gw.device("cpu", "0")


def test_device_is_immutable_and_pickles():
    d = gw.device("cpu", 0)
    with pytest.raises(AttributeError):
        d.type = "cuda"
    assert pickle.loads(pickle.dumps(d)) == d


# ------------------------------------------------------------------------ tensor attributes
def test_tensor_device_attributes():
    x = gw.ones(2)
    assert x.device == gw.device("cpu") and x.device.type == "cpu"
    assert x.is_cuda is False and x.is_cpu is True and x.get_device() == -1
    assert x.cpu() is x
    assert gw.nn.Parameter(gw.ones(1)).device == gw.device("cpu")
    assert (x * 2).device is x.device    # a constant: no per-tensor cost


def test_tensor_device_attributes_match_torch():
    torch = _torch()
    t, x = torch.ones(2), gw.ones(2)
    assert (str(x.device), x.is_cuda, x.is_cpu, x.get_device()) == (str(t.device), t.is_cuda, t.is_cpu,
                                                                    t.get_device())


# ------------------------------------------------------------------------ Tensor.to overloads
def _cases(lib):
    dev = lib.device("cpu")
    f64, i64 = lib.float64, lib.int64
    return {
        "device str": lambda x, o: x.to("cpu"),
        "device str with index": lambda x, o: x.to("cpu:0"),
        "device object": lambda x, o: x.to(dev),
        "same dtype": lambda x, o: x.to(lib.float32),
        "dtype": lambda x, o: x.to(f64),
        "int dtype": lambda x, o: x.to(i64),
        "device, dtype": lambda x, o: x.to("cpu", f64),
        "device object, dtype": lambda x, o: x.to(dev, f64),
        "device, same dtype": lambda x, o: x.to("cpu", lib.float32),
        "keywords": lambda x, o: x.to(device="cpu", dtype=f64),
        "device keyword": lambda x, o: x.to(device=dev),
        "dtype keyword": lambda x, o: x.to(dtype=f64),
        "other tensor": lambda x, o: x.to(o),
        "same-dtype tensor": lambda x, o: x.to(x),
        "no arguments": lambda x, o: x.to(),
        "copy": lambda x, o: x.to("cpu", copy=True),
        "dtype, copy": lambda x, o: x.to(lib.float32, copy=True),
        "dtype, non_blocking, copy positionally": lambda x, o: x.to(lib.float32, False, True),
        "device, dtype, non_blocking, copy positionally": lambda x, o: x.to("cpu", f64, True, False),
        "non_blocking": lambda x, o: x.to("cpu", non_blocking=True),
        "tensor, copy": lambda x, o: x.to(x, copy=True),
    }


@pytest.mark.parametrize("case", list(_cases(gw)))
def test_to_overloads_match_torch(case):
    torch = _torch()
    results = []
    for lib in (gw, torch):
        x = lib.tensor([1.5, -2.0])
        other = lib.zeros(1, dtype=lib.float64)
        y = _cases(lib)[case](x, other)
        dtype = str(y.dtype).replace("torch.", "").replace("dtype(", "").strip("')")
        results.append((y is x, dtype, y.tolist()))
    assert results[0] == results[1]


def test_to_returns_self_or_an_independent_copy():
    x = gw.tensor([1.0, 2.0])
    assert x.to("cpu") is x and x.to(gw.float32) is x and x.to() is x
    y = x.to(copy=True)
    assert y is not x and not np.shares_memory(y.numpy(), x.numpy())
    y.numpy()[0] = 9.0
    assert x.tolist() == [1.0, 2.0]


def test_gradients_flow_through_to_dtype_and_copy():
    x = gw.tensor([1.0, -3.0], requires_grad=True)
    ((x.to(gw.float64) ** 2).sum() + (x.to("cpu", copy=True) * 3).sum() + x.to("cpu").sum()).backward()
    assert x.grad.dtype == gw.float32
    assert x.grad.tolist() == [2 * 1.0 + 3 + 1, 2 * -3.0 + 3 + 1]
    # through the keyword and tensor overloads too
    w = gw.tensor([2.0], requires_grad=True)
    (w.to(device="cpu", dtype=gw.float64) * w.to(gw.zeros(1, dtype=gw.float64))).sum().backward()
    assert w.grad.tolist() == [4.0]


def test_to_accepts_dtype_strings_as_before():
    x = gw.ones(2)
    assert x.to("float64").dtype == gw.float64 and x.astype("int64").dtype == gw.int64
    with pytest.raises(gw.DtypeError, match="neither a device"):
        x.to("gpu")


def test_to_argument_errors():
    x = gw.ones(2)
    with pytest.raises(TypeError, match="dtype is given twice"):
        x.to(gw.float64, dtype=gw.float64)
    with pytest.raises(TypeError, match="dtype is given twice"):
        x.to("cpu", gw.float64, dtype=gw.float64)
    with pytest.raises(TypeError, match="device is given twice"):
        x.to("cpu", device="cpu")
    with pytest.raises(TypeError, match="from the tensor"):
        x.to(x, dtype=gw.float64)
    with pytest.raises(TypeError, match="positionally"):
        x.to("cpu", gw.float64, False, False, False)
    with pytest.raises(TypeError, match="positionally"):   # torch refuses (dtype, device) too
        x.to(gw.float64, "cpu")


@pytest.mark.parametrize("call, device", [
    (lambda x: x.to("cuda"), "cuda"),
    (lambda x: x.to("cuda:1", gw.float64), "cuda:1"),
    (lambda x: x.to(gw.device("cuda")), "cuda"),
    (lambda x: x.to(device="mps"), "mps"),
    (lambda x: x.to(0), "cuda:0"),
    (lambda x: x.cuda(), "cuda"),
    (lambda x: x.cuda(1), "cuda:1"),
    (lambda x: x.type("torch.cuda.FloatTensor"), "torch.cuda.FloatTensor"),
], ids=["to cuda", "to cuda:1 dtype", "to device object", "to mps", "to index", "cuda()", "cuda(1)", "type"])
def test_accelerators_raise_one_clear_error(call, device):
    x = gw.ones(2, requires_grad=True)
    with pytest.raises(gw.DeviceError) as e:
        call(x)
    _assert_device_error(e, device)


# ------------------------------------------------------------------------ Tensor.type
TYPE_DTYPES = ["float32", "float64", "float16", "int8", "uint8", "int16", "int32", "int64", "bool",
               "complex64", "complex128"]


@pytest.mark.parametrize("name", TYPE_DTYPES)
def test_type_names_follow_torch(name):
    torch = _torch()
    t = torch.zeros(1, dtype=getattr(torch, name))
    x = gw.zeros(1, dtype=getattr(gw, name))
    assert x.type() == t.type().replace("torch.", "gradwise.")
    # both spellings of the name cast back to the dtype
    for spelling in (t.type(), x.type(), t.type().removeprefix("torch.")):
        assert gw.ones(1).type(spelling).dtype == x.dtype
    assert gw.ones(1).type(x.dtype).dtype == x.dtype


def test_type_returns_self_when_the_dtype_matches_and_records_a_cast():
    x = gw.ones(2, requires_grad=True)
    assert x.type(gw.float32) is x and x.type("torch.FloatTensor") is x and x.type(gw.FloatTensor) is x
    assert x.type(gw.DoubleTensor).dtype == gw.float64 and x.type(gw.DoubleTensor).type() == "gradwise.DoubleTensor"
    x.type("torch.DoubleTensor").sum().backward()
    assert x.grad.tolist() == [1.0, 1.0]
    with pytest.raises(gw.DtypeError, match="unknown tensor type"):
        x.type("torch.NoSuchTensor")


# ------------------------------------------------------------------------ creation functions
def _creation_calls(ns=gw):
    t = gw.ones(2, 3)
    return {
        "tensor": lambda **k: ns.tensor([1.0, 2.0], **k),
        "as_tensor": lambda **k: ns.as_tensor(np.ones(2), **k),
        "zeros": lambda **k: ns.zeros(2, 3, **k),
        "ones": lambda **k: ns.ones(2, **k),
        "empty": lambda **k: ns.empty(2, **k),
        "full": lambda **k: ns.full((2,), 1.5, **k),
        "arange": lambda **k: ns.arange(4, **k),
        "linspace": lambda **k: ns.linspace(0, 1, 5, **k),
        "eye": lambda **k: ns.eye(3, **k),
        "rand": lambda **k: ns.rand(2, **k),
        "randn": lambda **k: ns.randn(2, **k),
        "randint": lambda **k: ns.randint(0, 5, (3,), **k),
        "randperm": lambda **k: ns.randperm(4, **k),
        "zeros_like": lambda **k: ns.zeros_like(t, **k),
        "ones_like": lambda **k: ns.ones_like(t, **k),
        "empty_like": lambda **k: ns.empty_like(t, **k),
        "full_like": lambda **k: ns.full_like(t, 2.0, **k),
        "rand_like": lambda **k: ns.rand_like(t, **k),
        "randn_like": lambda **k: ns.randn_like(t, **k),
        "randint_like": lambda **k: ns.randint_like(t, 0, 3, **k),
    }


def test_every_creation_function_takes_device():
    public = {n for n, f in vars(creation).items()
              if inspect.isfunction(f) and f.__module__ == creation.__name__ and not n.startswith("_")}
    public.discard("from_numpy")   # torch.from_numpy has no device either
    assert public == set(_creation_calls())
    for name in public:   # both here and in what gw exports under the name (it may be a torch-style overload)
        assert "device" in inspect.signature(getattr(creation, name)).parameters, name
        assert "device" in inspect.signature(getattr(gw, name)).parameters, name


@pytest.mark.parametrize("name", list(_creation_calls()))
@pytest.mark.parametrize("device", [None, "cpu", "cpu:0", gw.device("cpu"), gw.device("cpu", 0)], ids=str)
def test_creation_on_the_cpu(name, device):
    for ns in (gw, creation):
        made = _creation_calls(ns)[name](device=device)
        assert made.device == gw.device("cpu")
        assert made.dtype == _creation_calls(ns)[name]().dtype


@pytest.mark.parametrize("name", list(_creation_calls()))
@pytest.mark.parametrize("device", ["cuda", "cuda:0", "mps"])
def test_creation_on_an_accelerator_raises(name, device):
    for ns in (gw, creation):
        with pytest.raises(gw.DeviceError, match=rf"^{name}\(device=") as e:
            _creation_calls(ns)[name](device=device)
        _assert_device_error(e, device)
        with pytest.raises(gw.DeviceError):
            _creation_calls(ns)[name](device=gw.device(device))


def test_default_device():
    assert gw.get_default_device() == gw.device("cpu")
    gw.set_default_device("cpu")
    gw.set_default_device(gw.device("cpu"))
    gw.set_default_device(None)
    assert gw.get_default_device() == gw.device("cpu")
    with pytest.raises(gw.DeviceError) as e:
        gw.set_default_device("cuda")
    _assert_device_error(e, "cuda")
    assert gw.get_default_device() == gw.device("cpu")
    with gw.device("cpu"):
        assert gw.zeros(1).device == gw.device("cpu")
    with pytest.raises(gw.DeviceError):
        with gw.device("cuda"):
            pass
    assert gw.get_default_device() == gw.device("cpu")


# ------------------------------------------------------------------------ Module.to and friends
class _Net(gw.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = gw.nn.Linear(3, 4)
        self.bn = gw.nn.BatchNorm1d(4)
        self.out = gw.nn.Linear(4, 1)

    def forward(self, x):
        return self.out(self.bn(self.fc(x)).relu())


def test_module_to_dtype_keeps_parameter_identity_and_an_earlier_optimizer_works():
    gw.manual_seed(0)
    model = _Net()
    params = list(model.parameters())
    opt = gw.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    assert model.to(gw.float64) is model
    assert all(a is b for a, b in zip(params, model.parameters()))
    assert {p.dtype for p in model.parameters()} == {gw.float64}
    assert model.bn.running_mean.dtype == gw.float64 and model.bn.num_batches_tracked.dtype == gw.int64
    x, y = gw.randn(16, 3, dtype=gw.float64), gw.randn(16, 1, dtype=gw.float64)
    losses = []
    for _ in range(20):
        opt.zero_grad()
        loss = gw.nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert loss.dtype == gw.float64 and losses[-1] < losses[0]
    assert {p.dtype for p in model.parameters()} == {gw.float64}
    assert all(p.grad.dtype == gw.float64 for p in params)


def test_module_to_matches_torch_after_a_step():
    torch = _torch()
    gw.manual_seed(1)
    g = gw.nn.Linear(3, 2)
    t = torch.nn.Linear(3, 2)
    with torch.no_grad():
        t.weight.copy_(torch.from_numpy(g.weight.detach().numpy().copy()))
        t.bias.copy_(torch.from_numpy(g.bias.detach().numpy().copy()))
    g_opt, t_opt = gw.optim.SGD(g.parameters(), lr=0.5), torch.optim.SGD(t.parameters(), lr=0.5)
    g.to("cpu", gw.float64)
    t.to("cpu", torch.float64)
    xs = np.random.default_rng(2).standard_normal((5, 3))
    (g(gw.tensor(xs)) ** 2).mean().backward()
    (t(torch.tensor(xs)) ** 2).mean().backward()
    g_opt.step()
    t_opt.step()
    assert g.weight.dtype == gw.float64 and str(t.weight.dtype) == "torch.float64"
    np.testing.assert_allclose(g.weight.detach().numpy(), t.weight.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(g.bias.detach().numpy(), t.bias.detach().numpy(), rtol=1e-12)


def test_module_to_overloads_and_grads():
    model = _Net()
    w = model.fc.weight
    model(gw.randn(4, 3)).sum().backward()
    grad = w.grad
    assert model.to("cpu") is model and model.cpu() is model and w.dtype == gw.float32
    assert model.to(gw.zeros(1, dtype=gw.float64)) is model and w.dtype == gw.float64
    assert w.grad is grad and grad.dtype == gw.float64     # the gradient is cast, as in PyTorch
    assert model.to(device=gw.device("cpu"), dtype=gw.float32) is model and w.dtype == gw.float32
    assert model.half() is model and w.dtype == gw.float16
    assert model.double() is model and w.dtype == gw.float64
    assert model.float() is model and w.dtype == gw.float32
    assert model.bn.num_batches_tracked.dtype == gw.int64
    assert model.type("torch.DoubleTensor") is model and w.dtype == gw.float64
    # type() casts integer buffers too, as torch's Module.type does
    assert model.bn.num_batches_tracked.dtype == gw.float64
    assert model.type(gw.float32) is model and model.fc.weight is w


def test_module_to_shared_parameters_are_cast_once():
    a = gw.nn.Linear(2, 2)
    model = gw.nn.Sequential(a, gw.nn.Tanh(), a)
    model.double()
    assert a.weight.dtype == gw.float64 and len(list(model.parameters())) == 2


def test_module_to_errors_change_nothing():
    model = _Net()
    with pytest.raises(gw.DtypeError, match="floating point"):
        model.to(gw.int64)
    with pytest.raises(gw.DtypeError, match="requires grad"):
        model.type(gw.int64)
    for call, device in [(lambda: model.to("cuda"), "cuda"), (lambda: model.to("cuda", gw.float64), "cuda"),
                         (lambda: model.cuda(), "cuda"), (lambda: model.to(device="mps"), "mps")]:
        with pytest.raises(gw.DeviceError) as e:
            call()
        _assert_device_error(e, device)
    assert {p.dtype for p in model.parameters()} == {gw.float32}
    assert model.bn.num_batches_tracked.dtype == gw.int64


def test_module_dtype_casts_match_torch():
    torch = _torch()
    for method in ("double", "half", "float"):
        g, t = gw.nn.BatchNorm1d(3), torch.nn.BatchNorm1d(3)
        getattr(g, method)()
        getattr(t, method)()
        for (gn, gb), (tn, tb) in zip(g.state_dict().items(), t.state_dict().items()):
            assert gn == tn and gb.dtype.name == str(tb.dtype).removeprefix("torch."), (method, gn)
    with pytest.raises(TypeError):
        torch.nn.Linear(2, 2).to(torch.int64)
    with pytest.raises(TypeError):
        gw.nn.Linear(2, 2).to(gw.int64)


# ------------------------------------------------------------------------ cuda and backends
def test_cuda_namespace():
    import gradwise.cuda

    assert gradwise.cuda is gw.cuda
    assert gw.cuda.is_available() is False and gw.cuda.device_count() == 0 and gw.cuda.is_initialized() is False
    # no-ops, as in a PyTorch built without CUDA; the CPU generator is untouched
    gw.manual_seed(5)
    a = gw.rand(3)
    gw.manual_seed(5)
    assert gw.cuda.manual_seed(123) is None and gw.cuda.manual_seed_all(7) is None and gw.cuda.empty_cache() is None
    assert gw.rand(3).tolist() == a.tolist()
    for call in (gw.cuda.current_device, gw.cuda.synchronize):
        with pytest.raises(gw.DeviceError) as e:
            call()
        assert "gradwise.cuda.is_available()" in str(e.value)


def test_cuda_namespace_matches_torch_on_a_cpu_build():
    torch = _torch()
    if torch.cuda.is_available():
        pytest.skip("torch sees a GPU here")
    assert (gw.cuda.is_available(), gw.cuda.device_count()) == (torch.cuda.is_available(), torch.cuda.device_count())
    assert gw.backends.mps.is_available() == torch.backends.mps.is_available()
    for flag in ("enabled", "benchmark", "deterministic", "allow_tf32"):
        assert getattr(gw.backends.cudnn, flag) == getattr(torch.backends.cudnn, flag), flag
    assert gw.backends.cuda.matmul.allow_tf32 == torch.backends.cuda.matmul.allow_tf32


def test_backend_flags_are_settable(monkeypatch):
    import gradwise.backends.cudnn

    assert gradwise.backends.cudnn is gw.backends.cudnn
    for flag, value in (("deterministic", True), ("benchmark", True), ("enabled", False), ("allow_tf32", False)):
        monkeypatch.setattr(gw.backends.cudnn, flag, value)
        assert getattr(gw.backends.cudnn, flag) is value
    monkeypatch.setattr(gw.backends.cuda.matmul, "allow_tf32", True)
    assert gw.backends.cuda.matmul.allow_tf32 is True
    assert gw.backends.mps.is_available() is False and gw.backends.mps.is_built() is False
    assert gw.backends.cudnn.is_available() is False and gw.backends.cuda.is_built() is False


def test_a_device_agnostic_pytorch_program_runs_unchanged():
    gw.backends.cudnn.deterministic = gw.backends.cudnn.deterministic   # scripts set it; no effect
    device = gw.device("cuda" if gw.cuda.is_available() else "cpu")
    gw.manual_seed(0)
    gw.cuda.manual_seed_all(0)
    model = gw.nn.Sequential(gw.nn.Linear(2, 8), gw.nn.ReLU(), gw.nn.Linear(8, 1)).to(device)
    opt = gw.optim.Adam(model.parameters(), lr=1e-2)
    x = gw.randn(32, 2, device=device)
    y = (x[:, :1] * 2 - x[:, 1:]).to(device, non_blocking=True)
    first = None
    for _ in range(50):
        xb, yb = x.to(device), y.to(device)
        loss = gw.nn.functional.mse_loss(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        first = loss.item() if first is None else first
    assert loss.cpu().item() < first / 2
    assert next(model.parameters()).device == device
