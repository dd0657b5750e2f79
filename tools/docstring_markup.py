"""A griffe extension for the documentation site (mkdocs.yml, mkdocstrings' python handler).

gradwise's docstrings are written to read well in ``help()`` and run as doctests: Sphinx roles
(``:class:`Tensor```), bare ``>>>`` examples and reST ``::`` literal blocks.  Markdown would show
the roles as stray colons and the examples as nested block quotes, so before rendering this
rewrites each docstring's text (the source files are untouched):

* ``:role:`target``` and ``:role:`~pkg.mod.name``` become inline code (``name`` for ``~``);
* every run of doctest lines at the left margin (``>>>`` up to the next blank line, the rule
  doctest itself uses) is fenced as a ``pycon`` code block;
* a paragraph ending in ``::`` before an indented block ends in ``:`` (the block already renders
  as code in Markdown).

The functions and Tensor methods bound from the op table at import time are declared in
generated stubs (``gradwise/api/functions.pyi``, ``gradwise/autograd/tensor_ops.pyi``) without
docstrings; their docstrings are read from the bound objects themselves (:data:`RUNTIME_HOMES`).

Used by mkdocs.yml (``plugins.mkdocstrings.handlers.python.options.extensions``).
"""

from __future__ import annotations

import importlib
import inspect
import re
from typing import Any

import griffe

# :class:`Tensor`, :func:`~gradwise.func.grad`, :py:meth:`x.y` (an optional domain before the role)
_ROLE = re.compile(r":(?:[a-z]+:)?[a-z]+:`(~?)([^`]+)`")


# stub-declared namespace -> where its members live at run time
RUNTIME_HOMES = {
    "gradwise.api.functions": ("gradwise.api.functions", None),
    "gradwise.autograd.tensor_ops.BoundMethods": ("gradwise.autograd.tensor", "Tensor"),
}


def runtime_docstring(parent_path: str, name: str) -> str | None:
    """The docstring of ``name`` as bound at run time in a namespace of :data:`RUNTIME_HOMES`.

    >>> runtime_docstring("gradwise.api.functions", "add").splitlines()[0]
    '``input + alpha * other`` with broadcasting.'
    """
    if parent_path not in RUNTIME_HOMES:
        return None
    module_name, class_name = RUNTIME_HOMES[parent_path]
    home: Any = importlib.import_module(module_name)
    if class_name:
        home = getattr(home, class_name)
    doc = getattr(getattr(home, name, None), "__doc__", None)
    return inspect.cleandoc(doc) if isinstance(doc, str) and doc.strip() else None


def _role_to_code(match: re.Match[str]) -> str:
    short, target = match.group(1), match.group(2).strip()
    if "<" in target and target.endswith(">"):  # :ref:`shown text <target>`
        target = target[: target.index("<")].strip()
    if short:
        target = target.rsplit(".", 1)[-1]
    return f"`{target}`"


def rewrite(text: str) -> str:
    """The docstring ``text`` with roles, doctest runs and ``::`` made Markdown.

    >>> print(rewrite("See :class:`~gradwise.nn.Linear`::\\n\\n    layer = Linear(2, 3)"))
    See `Linear`:
    <BLANKLINE>
        layer = Linear(2, 3)

    (tests/test_docs_site.py checks the doctest fences.)
    """
    lines = _ROLE.sub(_role_to_code, text).split("\n")
    out: list[str] = []
    in_fence = in_doctest = False
    for i, line in enumerate(lines):
        stripped = line.strip()
        if in_doctest and not stripped:
            out.append("```")
            in_doctest = False
        if stripped.startswith("```"):
            in_fence = not in_fence
        elif not in_fence and not in_doctest and line.startswith(">>>"):
            if out and out[-1].strip():
                out.append("")
            out.append("```pycon")
            in_doctest = True
        elif not in_fence and not in_doctest and stripped.endswith("::") and _indented_block_follows(lines, i):
            line = line.rstrip()[:-1]
        out.append(line)
    if in_doctest:
        out.append("```")
    return "\n".join(out)


def _indented_block_follows(lines: list[str], i: int) -> bool:
    indent = len(lines[i]) - len(lines[i].lstrip())
    for nxt in lines[i + 1:]:
        if nxt.strip():
            return len(nxt) - len(nxt.lstrip()) > indent
    return False


class DocstringMarkup(griffe.Extension):
    """Rewrites every docstring with :func:`rewrite`, and makes a package's re-exports public.

    A package ``__init__`` without ``__all__`` (``gradwise.nn``, ``gradwise.train``...) exports
    what it imports from inside gradwise: ``from gradwise.nn.modules.linear import Linear`` is how
    ``gradwise.nn.Linear`` is published.  griffe treats imported names as private unless listed
    in ``__all__``, so those names (not submodules, not ``_private`` ones) are marked public here.
    """

    def on_package(self, *, pkg: griffe.Module, loader: griffe.GriffeLoader, **kwargs: Any) -> None:
        # on_object runs for every object below the package, not the package itself
        self.on_object(obj=pkg, loader=loader)

    def on_object(self, *, obj: griffe.Object, loader: griffe.GriffeLoader, **kwargs: Any) -> None:
        if obj.docstring is None and isinstance(obj, griffe.Function) and obj.parent is not None:
            doc = runtime_docstring(obj.parent.path, obj.name)
            if doc:
                obj.docstring = griffe.Docstring(doc, parent=obj)
        if obj.docstring is not None:
            obj.docstring.value = rewrite(obj.docstring.value)
        if isinstance(obj, griffe.Module) and obj.is_init_module and obj.exports is None:
            for name, member in obj.members.items():
                if (isinstance(member, griffe.Alias) and not name.startswith("_")
                        and member.target_path.startswith("gradwise.") and not member.is_module):
                    member.public = True
