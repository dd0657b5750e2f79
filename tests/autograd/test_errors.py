"""Bad input gets an error a newcomer can act on: it names the op, the shapes, the fix."""

from __future__ import annotations

import pytest

import gradwise as gw


def test_matmul_inner_dimension_mismatch_names_both_and_suggests_transpose():
    with pytest.raises(ValueError) as info:
        gw.ones(32, 64) @ gw.ones(10, 64)
    msg = str(info.value)
    assert "(32, 64)" in msg and "(10, 64)" in msg and "64" in msg and "10" in msg
    assert "transpose" in msg
    assert isinstance(info.value, gw.ShapeError)


def test_broadcast_mismatch_names_shapes_and_dimension():
    with pytest.raises(gw.ShapeError, match=r"add: shapes \(3, 4\) and \(5,\).*dimension -1 is 4"):
        gw.ones(3, 4) + gw.ones(5)


def test_unknown_dim_names_the_valid_range():
    with pytest.raises(IndexError, match=r"dim 5 is out of range .* \(valid: -2 to 1\)"):
        gw.ones(2, 3).sum(dim=5)
    with pytest.raises(ValueError, match="repeats a dimension"):
        gw.ones(2, 3).sum(dim=(1, -1))


def test_reshape_with_wrong_size():
    with pytest.raises(ValueError, match=r"reshape.*\(2, 3\).*6 elements"):
        gw.ones(2, 3).reshape(4, 2)


def test_indexing_out_of_range():
    with pytest.raises(IndexError, match="index 3 is out of range for dimension 0 of size 3"):
        gw.ones(3)[3]
    with pytest.raises(IndexError, match="dimension 1 of size 2"):
        gw.ones(3, 2)[:, [0, 5]]


def test_cat_mismatch_names_tensor_and_dimension():
    with pytest.raises(ValueError, match=r"tensor 1 has shape \(2, 4\).*dimension 1: 3 vs 4"):
        gw.cat([gw.ones(2, 3), gw.ones(2, 4)])


def test_conv_channel_mismatch_and_bad_padding():
    with pytest.raises(ValueError, match=r"3 channels.*groups=1 expects 2"):
        gw.conv2d(gw.ones(1, 3, 5, 5), gw.ones(4, 2, 3, 3))
    with pytest.raises(ValueError, match=r"padding='full' is not valid.*'valid', 'same'"):
        gw.conv2d(gw.ones(1, 3, 5, 5), gw.ones(4, 3, 3, 3), padding="full")
    with pytest.raises(ValueError, match="larger than the padded input"):
        gw.conv2d(gw.ones(1, 3, 2, 2), gw.ones(4, 3, 3, 3))


def test_cross_entropy_target_out_of_range_names_class_count():
    with pytest.raises(IndexError, match="target 5 is out of range for 3 classes"):
        gw.cross_entropy(gw.ones(2, 3), gw.tensor([0, 5]))


def test_bad_option_values_list_the_choices():
    with pytest.raises(ValueError, match=r"approximate='fast'.*\('none', 'tanh'\)"):
        gw.gelu(gw.ones(2), approximate="fast")
    with pytest.raises(ValueError, match="reduction='avg'"):
        gw.cross_entropy(gw.ones(2, 3), gw.tensor([0, 1]), reduction="avg")


def test_singular_matrix():
    with pytest.raises(ValueError, match="inv: Singular matrix"):
        gw.linalg.inv(gw.zeros(2, 2))
