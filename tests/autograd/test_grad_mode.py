"""no_grad / enable_grad / set_grad_enabled as context managers and decorators."""

from __future__ import annotations

import pytest

import gradwise as gw


def test_no_grad_records_nothing_and_restores():
    x = gw.ones(2, requires_grad=True)
    with gw.no_grad():
        y = x * 2
        assert not gw.is_grad_enabled()
    assert gw.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None


def test_nesting_and_enable_grad_inside_no_grad():
    x = gw.ones(2, requires_grad=True)
    with gw.no_grad():
        with gw.enable_grad():
            y = x * 2
        z = x * 2
    assert y.requires_grad and not z.requires_grad


def test_decorators_and_exceptions_restore_state():
    @gw.no_grad()
    def f(t):
        return t * 2

    @gw.enable_grad()
    def g(t):
        return t * 2

    x = gw.ones(1, requires_grad=True)
    assert not f(x).requires_grad
    with gw.no_grad():
        assert g(x).requires_grad
    with pytest.raises(KeyError):
        with gw.no_grad():
            raise KeyError("inside no_grad")
    assert gw.is_grad_enabled()


def test_set_grad_enabled_call_and_context():
    x = gw.ones(1, requires_grad=True)
    with gw.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert gw.is_grad_enabled()
    gw.set_grad_enabled(False)
    try:
        assert not gw.is_grad_enabled()
    finally:
        gw.set_grad_enabled(True)
