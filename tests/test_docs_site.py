"""The documentation site builds: ``mkdocs build --strict`` (mkdocs.yml at the repository root,
docs/ as its pages) exits 0, every page in docs/ is in the navigation, every figure a page shows
exists, and the build makes the pages, the API reference and the figures.

Strict mode fails the build on any warning: a link to a missing page or anchor, a page left out
of the navigation, a docstring reference mkdocstrings cannot resolve.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)[^)]*\)|<img[^>]*\bsrc=\"([^\"]+)\"")


def nav_pages(nav: object) -> list[str]:
    """Every page path in mkdocs.yml's ``nav`` (nested sections, ``title: page`` or bare pages)."""
    if isinstance(nav, str):
        return [nav]
    if isinstance(nav, list):
        return [page for item in nav for page in nav_pages(item)]
    if isinstance(nav, dict):
        return [page for value in nav.values() for page in nav_pages(value)]
    raise TypeError(f"mkdocs.yml nav: unexpected entry {nav!r}")


def load_nav() -> list[str]:
    yaml = pytest.importorskip("yaml")
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    assert config["docs_dir"] == "docs"
    return nav_pages(config["nav"])


def docs_pages() -> list[str]:
    return sorted(p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md"))


def test_every_docs_page_is_in_the_navigation_and_every_nav_entry_exists():
    nav = load_nav()
    pages = docs_pages()
    twice = sorted({p for p in nav if nav.count(p) > 1})
    assert not twice, f"pages listed twice in mkdocs.yml's nav: {twice}"
    missing = sorted(set(pages) - set(nav))
    assert not missing, f"docs pages not in mkdocs.yml's nav (add them): {missing}"
    absent = sorted(set(nav) - set(pages))
    assert not absent, f"mkdocs.yml's nav lists pages that do not exist: {absent}"


def test_nav_check_sees_a_page_left_out():
    nav = nav_pages([{"Home": "index.md"}, {"Guides": [{"A": "a.md"}, "b.md"]}, "api/c.md"])
    assert nav == ["index.md", "a.md", "b.md", "api/c.md"]
    assert sorted({"index.md", "a.md", "b.md", "api/c.md", "new.md"} - set(nav)) == ["new.md"]


def images_of(page: Path) -> list[str]:
    return [a or b for a, b in IMAGE.findall(page.read_text(encoding="utf-8"))]


def test_every_image_a_page_shows_exists_and_is_relative():
    problems = []
    for page in sorted(DOCS.rglob("*.md")):
        for src in images_of(page):
            if src.startswith(("http://", "https://", "/", "data:")):
                problems.append(f"{page.relative_to(ROOT)}: {src} (use a path relative to the page)")
            elif not (page.parent / src).is_file():
                problems.append(f"{page.relative_to(ROOT)}: {src} does not exist")
    assert not problems, "\n".join(problems)


def test_every_figure_a_page_shows_is_made_by_make_figures():
    sys.path.insert(0, str(DOCS))
    try:
        import make_figures
    finally:
        sys.path.remove(str(DOCS))
    made = {Path(f).name for f in make_figures.FILES}
    shown = {Path(src).name for page in DOCS.rglob("*.md") for src in images_of(page) if "figures/" in src}
    assert shown, "no page shows a figure: the image pattern is broken"
    assert not shown - made, f"figures no entry of docs/make_figures.py draws: {sorted(shown - made)}"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    pytest.importorskip("mkdocs")
    pytest.importorskip("material")
    pytest.importorskip("mkdocstrings_handlers.python")
    out = tmp_path_factory.mktemp("site")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
                          cwd=ROOT, capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{proc.stdout}\n{proc.stderr}"
    return out


def test_strict_build_makes_every_page(site):
    for page in docs_pages():
        built = site / Path(page).with_suffix(".html")
        assert built.is_file(), f"{page} was not built ({built.name} missing)"


def test_api_reference_is_generated_from_the_docstrings(site):
    linear = (site / "api" / "nn.html").read_text(encoding="utf-8")
    assert 'id="gradwise.nn.Linear"' in linear
    assert "in_features" in linear
    tensor = (site / "api" / "autograd.html").read_text(encoding="utf-8")
    assert 'id="gradwise.autograd.Tensor.backward"' in tensor or 'id="gradwise.autograd.Tensor.detach"' in tensor
    # the op table's functions: signatures from the generated stubs, docstrings from the bound ops
    ops = (site / "api" / "ops.html").read_text(encoding="utf-8")
    assert 'id="gradwise.api.functions.add"' in ops and "with broadcasting" in ops
    methods = (site / "api" / "tensor_methods.html").read_text(encoding="utf-8")
    assert 'id="gradwise.autograd.tensor_ops.BoundMethods.sum"' in methods
    fit = (site / "api" / "train.html").read_text(encoding="utf-8")
    assert 'id="gradwise.train.fit"' in fit
    # doctests render as code, not as ">>>" block quotes; Sphinx roles as code, not raw markup
    assert "<blockquote>" not in fit and ":class:`" not in fit and ":func:`" not in fit
    assert "&gt;&gt;&gt;" in fit


def test_pages_show_their_examples_and_figures_offline(site):
    page = (site / "choosing_the_learning_rate.html").read_text(encoding="utf-8")
    assert 'src="figures/lr_triptych.png"' in page
    assert (site / "figures" / "lr_triptych.png").is_file()
    assert "&gt;&gt;&gt;" in page        # the doctests are shown, as code
    index = (site / "index.html").read_text(encoding="utf-8")
    assert "fonts.googleapis.com" not in index and "fonts.gstatic.com" not in index


def test_docstring_markup_makes_sphinx_roles_and_doctests_markdown():
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        from docstring_markup import rewrite
    finally:
        sys.path.remove(str(ROOT / "tools"))
    assert rewrite("A :class:`~gradwise.nn.Linear` and :func:`gradwise.func.grad`.") == \
        "A `Linear` and `gradwise.func.grad`."
    assert rewrite("Text.\n>>> 1 + 1\n2\n\nMore.") == "Text.\n\n```pycon\n>>> 1 + 1\n2\n```\n\nMore."
    fenced = "```python\n>>> 1 + 1\n2\n```"
    assert rewrite(fenced) == fenced
    assert rewrite("Run::\n\n    gradwise demo\n") == "Run:\n\n    gradwise demo\n"
    assert rewrite("Ends with a colon pair::") == "Ends with a colon pair::"
