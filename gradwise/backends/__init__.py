"""``gradwise.backends``: the flags of ``torch.backends`` that training scripts set.

gradwise computes on the CPU with NumPy, so none of these backends exists: the flags
(``cudnn.deterministic``, ``cudnn.benchmark``, ``cudnn.enabled``, ``cudnn.allow_tf32``,
``cuda.matmul.allow_tf32``) can be read and set, and setting them changes nothing;
``mps.is_available()``, ``cudnn.is_available()`` and the ``is_built()`` functions are False.
gradwise's results are deterministic for a given seed without any flag.

>>> import gradwise as gw
>>> gw.backends.cudnn.benchmark, gw.backends.mps.is_available()   # set cudnn's flags freely: no effect
(False, False)
"""

from gradwise.backends import cuda, cudnn, mps

__all__ = ["cuda", "cudnn", "mps"]
