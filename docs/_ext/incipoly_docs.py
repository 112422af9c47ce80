"""Build-time page generators for the incipoly documentation (a local Sphinx extension).

On ``builder-inited`` it writes, into git-ignored folders of ``docs/``:

* ``api/``: one page per public module of :mod:`incipoly` (every module whose dotted path has no
  component starting with ``_``), listing the names of its ``__all__`` (or, for a module without
  ``__all__``, the public functions and classes defined in it), and one page per object with the
  matching autodoc directive. An object re-exported by several modules is documented once, where
  it is defined; the other modules' tables link to that page.
* ``cli/help.md``: ``--help`` of the ``incipoly`` command and of each subcommand, from the parser
  that ``incipoly.cli`` builds (a module or a package; the builder is the first callable named
  ``build_parser``/``make_parser``/``get_parser`` found in it or its submodules).
* ``theory/``: one page per ``## `` section of ``theory/README.md``; sections that are measurement
  logs go to an appendix page.

Nothing here knows the names of the functions it documents, so the reference follows the code.
"""
from __future__ import annotations

import argparse
import importlib
import inspect
import os
import pkgutil
import re
import shutil
from pathlib import Path

from sphinx.util import logging

logger = logging.getLogger(__name__)

PACKAGE = "incipoly"
#: Compiled kernels are internal; documented only through the modules that wrap them, unless a
#: kernel module declares ``__all__``.
INTERNAL_WITHOUT_ALL = ("incipoly.kernels",)
#: Theory sections whose heading contains one of these words are measurement logs: appendix.
APPENDIX_WORDS = ("theory vs simulation", "map")


# --------------------------------------------------------------------------- API reference
def public_modules(package=PACKAGE) -> list:
    """Every importable module of ``package`` whose dotted path has no ``_``-prefixed part."""
    pkg = importlib.import_module(package)
    names = [package]
    for info in pkgutil.walk_packages(pkg.__path__, package + "."):
        if not any(part.startswith("_") for part in info.name.split(".")[1:]):
            names.append(info.name)
    return sorted(names, key=lambda n: (n != package, n))


def module_names(module) -> tuple[list, bool]:
    """(names to document, whether they come from ``__all__``)."""
    if hasattr(module, "__all__"):
        return list(module.__all__), True
    defined = [name for name, obj in vars(module).items()
               if not name.startswith("_") and (inspect.isfunction(obj) or inspect.isclass(obj))
               and getattr(obj, "__module__", None) == module.__name__]
    return defined, False


def kind(obj) -> str:
    if inspect.ismodule(obj):
        return "module"
    if inspect.isclass(obj):
        return "exception" if issubclass(obj, BaseException) else "class"
    if callable(obj) and (inspect.isroutine(obj) or hasattr(obj, "py_func")):
        return "function"
    return "data"


def first_line(obj) -> str:
    if kind(obj) == "data":
        return ""
    doc = inspect.getdoc(obj) or ""
    para = doc.strip().split("\n\n")[0].replace("\n", " ")
    return para.replace("|", "\\|")


def collect(modules: list) -> tuple[dict, dict]:
    """Per module its (name, object) rows; per object id its canonical dotted name."""
    rows, canonical = {}, {}
    for modname in modules:
        module = importlib.import_module(modname)
        names, from_all = module_names(module)
        if not from_all and modname.startswith(INTERNAL_WITHOUT_ALL):
            continue
        rows[modname] = [(name, getattr(module, name)) for name in names]
        if not from_all:
            logger.info(f"[incipoly_docs] {modname} has no __all__: documenting its defined names")
    for items in rows.values():
        for name, obj in items:
            if kind(obj) == "module" or id(obj) in canonical:
                continue
            home = getattr(obj, "__module__", None)
            qual = getattr(obj, "__qualname__", name)
            if kind(obj) != "data" and home in rows and getattr(
                    importlib.import_module(home), qual, None) is obj:
                canonical[id(obj)] = f"{home}.{qual}"
    for modname, items in rows.items():       # the rest: documented where first listed
        for name, obj in items:
            if kind(obj) != "module":
                canonical.setdefault(id(obj), f"{modname}.{name}")
    return rows, canonical


def object_page(full: str, obj) -> str:
    k = kind(obj)
    directive = {"class": "autoclass", "exception": "autoexception", "function": "autofunction",
                 "data": "autodata"}[k]
    options = "   :members:\n" if k in ("class", "exception") else ""
    if k == "data":
        options = "   :no-value:\n" if len(repr(obj)) > 300 else ""
        if not _has_attr_doc(full):
            # autodata would show the docstring of the value's type (dict, tuple …), which is
            # not ours and not valid reST: declare the name with its value only.
            value = f"   :value: {repr(obj)}\n" if len(repr(obj)) <= 300 else ""
            return f"{full}\n{'=' * len(full)}\n\n.. py:data:: {full}\n{value}"
    return f"{full}\n{'=' * len(full)}\n\n.. {directive}:: {full}\n{options}"


def _has_attr_doc(full: str) -> bool:
    """Whether ``full`` (module.name) has a ``#:`` comment or docstring where its module assigns it."""
    from sphinx.pycode import ModuleAnalyzer
    modname, name = full.rsplit(".", 1)
    try:
        return ("", name) in ModuleAnalyzer.for_module(modname).find_attr_docs()
    except Exception:  # noqa: BLE001   (no source: treat as undocumented)
        return False


def module_page(modname: str, items: list, canonical: dict, documented_here: list) -> str:
    out = [modname, "=" * len(modname), "", f".. automodule:: {modname}", "   :no-members:", ""]
    if items:
        out += [".. list-table::", "   :widths: 35 65", ""]
        for name, obj in items:
            target = name if kind(obj) == "module" else canonical[id(obj)]
            role = "mod" if kind(obj) == "module" else "obj"
            if kind(obj) == "module":
                target = obj.__name__
            out += [f"   * - :py:{role}:`{modname}.{name} <{target}>`", f"     - {first_line(obj)}"]
        out.append("")
    if documented_here:
        out += [".. toctree::", "   :hidden:", ""] + [f"   {full}" for full in documented_here] + [""]
    return "\n".join(out)


def write_api(outdir: Path) -> None:
    modules = public_modules()
    rows, canonical = collect(modules)
    if outdir.exists():
        shutil.rmtree(outdir)
    outdir.mkdir(parents=True)
    pages = {}
    for modname, items in rows.items():
        here = []
        for _, obj in items:
            if kind(obj) == "module":
                continue
            full = canonical[id(obj)]
            if full.rsplit(".", 1)[0] == modname and full not in pages:
                pages[full] = object_page(full, obj)
                here.append(full)
        (outdir / f"{modname}.rst").write_text(module_page(modname, items, canonical, here))
    for full, text in pages.items():
        (outdir / f"{full}.rst").write_text(text)
    index = ["API reference", "=============", "",
             "Generated at build time from ``__all__`` of :mod:`incipoly` and of every public",
             "submodule (a module without ``__all__`` contributes the functions and classes it",
             "defines). An object re-exported by several modules is documented once, where it is",
             "defined.", "", ".. toctree::", "   :maxdepth: 1", ""]
    index += [f"   {m}" for m in rows] + [""]
    (outdir / "index.rst").write_text("\n".join(index))


# --------------------------------------------------------------------------- command line
def find_parser_builder():
    cli = importlib.import_module(f"{PACKAGE}.cli")
    modules = [cli]
    if hasattr(cli, "__path__"):
        modules += [importlib.import_module(i.name)
                    for i in pkgutil.walk_packages(cli.__path__, cli.__name__ + ".")]
    for module in modules:
        for name in ("build_parser", "make_parser", "get_parser"):
            if callable(getattr(module, name, None)):
                return getattr(module, name)
    raise RuntimeError(f"no parser builder (build_parser) found in {cli.__name__}")


def write_cli(outfile: Path) -> None:
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "100"
    try:
        parser = find_parser_builder()()
        parts = ["<!-- generated by docs/_ext/incipoly_docs.py from the argparse parser -->", "",
                 "### `incipoly`", "", "```text", parser.format_help().rstrip(), "```", ""]
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    parts += [f"### `incipoly {name}`", "", "```text", sub.format_help().rstrip(),
                              "```", ""]
    finally:
        if old is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = old
    outfile.parent.mkdir(parents=True, exist_ok=True)
    outfile.write_text("\n".join(parts))


# --------------------------------------------------------------------------- theory pages
def split_sections(text: str) -> tuple[str, list]:
    """(preamble, [(heading, body)]) of a markdown text split at its ``## `` headings,
    ignoring headings inside fenced code blocks."""
    preamble, sections, fence = [], [], False
    for line in text.splitlines():
        if line.startswith("```"):
            fence = not fence
        if not fence and line.startswith("## "):
            sections.append([line[3:].strip(), []])
        elif sections:
            sections[-1][1].append(line)
        else:
            preamble.append(line)
    return "\n".join(preamble), [(h, "\n".join(b)) for h, b in sections]


def clean(body: str, promote: bool) -> str:
    """Headings one level up when ``promote`` (### → ##); relative links to the repository
    become plain text (they have no target in the site)."""
    out, fence = [], False
    for line in body.splitlines():
        if line.startswith("```"):
            fence = not fence
        if not fence and promote and re.match(r"#{3,6} ", line):
            line = line[1:]
        if not fence:
            line = re.sub(r"\[([^\]]+)\]\((?!https?:|#)[^)]*\)", r"\1", line)
        out.append(line)
    while out and (not out[-1].strip() or set(out[-1].strip()) == {"-"}):
        out.pop()                      # a trailing rule: a page may not end with a transition
    return "\n".join(out).strip()


def bare(heading: str) -> str:
    """The heading without its section letter ("b. Birthday law" → "Birthday law")."""
    return re.sub(r"^[a-z]\.\s+", "", heading.strip())


def slug(heading: str) -> str:
    words = re.sub(r"\(.*?\)|`", "", heading).lower()
    words = re.sub(r"^[a-z]\.\s+", "", words.strip())
    return re.sub(r"[^a-z0-9]+", "-", words).strip("-")[:48] or "section"


def brief_for(heading: str, briefs: list) -> str:
    """The section of the typeset overview whose heading shares a word (5+ letters) with
    ``heading`` ("Birthday law with signs" ↔ "b. Birthday law with signs (`birthday.py`)")."""
    words = set(re.findall(r"[a-z]{5,}", heading.lower()))
    for title, body in briefs:
        if words & set(re.findall(r"[a-z]{5,}", title.lower())):
            return body.strip()
    return ""


def write_theory(readme: Path, outdir: Path, overview: Path) -> None:
    """One page per section of ``readme``, each opening with the matching typeset summary of
    ``overview`` (docs/guide/theory_overview.md) when there is one."""
    briefs = split_sections(overview.read_text())[1] if overview.exists() else []
    if outdir.exists():
        shutil.rmtree(outdir)
    outdir.mkdir(parents=True)
    preamble, sections = split_sections(readme.read_text())
    title, _, rest = preamble.partition("\n")
    models, appendix = [], []
    for heading, body in sections:
        if any(word in heading.lower() for word in APPENDIX_WORDS):
            appendix.append(f"## {bare(heading)}\n\n{clean(body, promote=False)}\n")
        else:
            page = slug(heading)
            brief = brief_for(heading, briefs)
            if brief:
                brief = f"::::{{admonition}} In brief\n:class: tip\n\n{brief}\n::::\n\n"
            (outdir / f"{page}.md").write_text(
                f"# {bare(heading)}\n\n{brief}{clean(body, promote=True)}\n")
            models.append(page)
    (outdir / "appendix.md").write_text(
        "# Appendix: measurements and map\n\nThe measurement logs of `theory/README.md`: tables of "
        "simulation against theory, where each model holds, and the map of files.\n\n"
        + "\n".join(appendix))
    index = [f"# {title.lstrip('#').strip()}", "",
             "Generated at build time from `theory/README.md`, one page per model; the derivations "
             "are checked with sympy in `theory/*.py`, the numbers live in `incipoly.analytic`. "
             "[The theory in brief](../guide/theory_overview.md) gives the key equations typeset.",
             "", clean(rest, promote=True), "", "```{toctree}", ":maxdepth: 1", ""]
    index += models + ["appendix", "```", ""]
    (outdir / "index.md").write_text("\n".join(index))


# --------------------------------------------------------------------------- docstrings
LITERAL = re.compile(r"(``.*?``|`[^`]*`)")


def escape_bars(app, what, name, obj, options, lines) -> None:
    """``|W_i|`` in prose is a norm, not a reST substitution: escape bars outside literals.

    Lines that start with ``|`` or ``+`` (reST tables, line blocks) are left alone.
    """
    for i, line in enumerate(lines):
        if "|" not in line or line.lstrip()[:1] in ("|", "+"):
            continue
        parts = LITERAL.split(line)
        lines[i] = "".join(part if k % 2 else re.sub(r"(?<!\\)\|", r"\\|", part)
                           for k, part in enumerate(parts))


# --------------------------------------------------------------------------- wiring
def generate(app) -> None:
    docs = Path(app.srcdir)
    root = docs.parent
    write_api(docs / "api")
    write_cli(docs / "cli" / "help.md")
    write_theory(root / "theory" / "README.md", docs / "theory", docs / "guide" / "theory_overview.md")
    arch = root / "ARCHITECTURE.md"
    target = docs / "guide" / "_architecture_include.md"
    target.write_text("```{include} ../../ARCHITECTURE.md\n:heading-offset: 1\n```\n"
                      if arch.exists() else "")


def setup(app):
    app.connect("builder-inited", generate)
    app.connect("autodoc-process-docstring", escape_bars)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
