"""The public tensor API above autograd: creation and random functions, the binder
that turns the op table into ``gradwise.<name>`` functions and Tensor methods, and the
composite functions built from several ops (split, max along a dim, conv2d, median...)."""
