"""Every public name has a numpydoc docstring with the sections it needs, and every example in it runs.

Public names are those in ``incipoly.__all__`` and in the ``__all__`` of every public submodule (no
dotted component starting with ``_``). Names defined in compiled-kernel modules (``KERNEL_INTERNALS``
below, each with its reason) are exempt from the section rules; their docstrings still run as
doctests if they have any.
"""
import ast
import doctest
import importlib
import inspect
import io
import pkgutil
import re
import textwrap
from pathlib import Path

import numpy as np
import pytest

import incipoly as ip

PACKAGE = Path(ip.__file__).resolve().parent
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE

# Modules of compiled kernels and their launch plumbing: their functions take raw arrays laid out
# for the compiled loop (or need a GPU), are called only by incipoly.training / incipoly.stores, and
# are tested against tests/naive.py instead. The sparse_* kernels are being rewritten on another
# branch (issue 21). incipoly.kernels.cache is NOT here: users call it (ip.cache_dir, ip.clear_cache).
KERNEL_INTERNALS = {
    "incipoly.kernels.cpu": "@njit one-hot training kernels on raw arrays, called by training.py",
    "incipoly.kernels.noise": "@njit counter-based RNG helpers, inlined into the kernels",
    "incipoly.kernels.blas": "@njit wrapper of scipy's BLAS syrk, inlined into kernels.cpu",
    "incipoly.kernels.cuda": "numba-cuda training state: needs a GPU",
    "incipoly.kernels.cuda_device": "numba-cuda device functions: need a GPU",
    "incipoly.kernels.cuda_small": "numba-cuda one-block-per-model kernels: need a GPU",
    "incipoly.kernels.cuda_tiled": "numba-cuda tiled kernels: need a GPU",
    "incipoly.kernels.cuda_launch": "launch-geometry checks of compiled CUDA kernels",
    "incipoly.kernels.cuda_check": "ptxas resource audit script run by bench/gpu.sh (needs NVVM)",
    "incipoly.kernels.cuda_resources": "generated table of CUDA kernel resources",
    "incipoly.kernels.sparse_cpu": "@njit minibatch kernels, rewritten on the sparse branch (issue 21)",
    "incipoly.kernels.sparse_blocks": "@njit minibatch blocks, rewritten on the sparse branch (issue 21)",
    "incipoly.kernels.sparse_sampler": "@njit sparse-input sampler, rewritten on the sparse branch",
    "incipoly.kernels.sparse_cuda": "numba-cuda minibatch state: needs a GPU",
}


def _public_modules():
    yield "incipoly"
    for info in pkgutil.walk_packages([str(PACKAGE)], "incipoly."):
        if not any(part.startswith("_") for part in info.name.split(".")[1:]):
            yield info.name


def _import(name):
    if name == "incipoly.stores.cluster":
        pytest.importorskip("dask.distributed", reason="incipoly.stores.cluster needs the [dask] extra")
    return importlib.import_module(name)


def _public_objects():
    """(dotted name, object, module it is listed in): each function/class once, first listing wins."""
    seen, out = set(), []
    for modname in _public_modules():
        try:
            module = importlib.import_module(modname)
        except ImportError:  # the [dask] extra; test_cluster_docstrings checks it when installed
            continue
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if not (inspect.isclass(obj) or inspect.isfunction(obj)) or id(obj) in seen:
                continue
            seen.add(id(obj))
            out.append((f"{modname}.{name}", obj, modname))
    return out


def _exempt(modname, obj):
    return obj.__module__ in KERNEL_INTERNALS


PUBLIC = _public_objects()
CHECKED = [p for p in PUBLIC if not _exempt(p[2], p[1])]


def _sections(doc):
    return set(re.findall(r"^(\w[\w ]*)\n-{3,}$", doc, re.M))


def _has_parameters(obj):
    target = obj.__init__ if inspect.isclass(obj) else obj
    try:
        params = inspect.signature(target).parameters
    except (TypeError, ValueError):
        return False
    if inspect.isclass(obj) and not inspect.isfunction(target):
        return False  # a builtin __init__ (exceptions, object): nothing of ours to document
    return any(p not in ("self", "cls") for p in params)


def _returns_something(func):
    if inspect.signature(func).return_annotation in (None, "None"):
        return False
    tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
    body = tree.body[0]
    nested = {id(n) for n in ast.walk(body) if isinstance(n, (ast.FunctionDef, ast.Lambda)) and n is not body
              for n in ast.walk(n)}
    return any(isinstance(n, (ast.Return, ast.Yield, ast.YieldFrom)) and id(n) not in nested
               and (not isinstance(n, ast.Return) or n.value is not None) for n in ast.walk(body))


def _raises_on_bad_input(func):
    """True if the function body itself raises ValueError or TypeError."""
    body = ast.parse(textwrap.dedent(inspect.getsource(func)))
    for node in ast.walk(body):
        if isinstance(node, ast.Raise) and node.exc is not None:
            exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if getattr(exc, "id", None) in ("ValueError", "TypeError"):
                return True
    return False


def test_the_walk_finds_the_public_api():
    names = {name for name, _, _ in PUBLIC}
    assert {"incipoly.Config", "incipoly.train", "incipoly.load",
            "incipoly.metrics.polysemantic_neurons"} <= names
    assert len(CHECKED) > 100


def test_only_compiled_kernel_modules_are_exempt():
    for name in KERNEL_INTERNALS:
        assert name.startswith("incipoly.kernels.") and name != "incipoly.kernels.cache", name
        assert (PACKAGE / "kernels" / f"{name.rsplit('.', 1)[1]}.py").is_file(), name


@pytest.mark.parametrize("name,obj,modname", CHECKED, ids=[p[0] for p in CHECKED])
def test_docstring_sections(name, obj, modname):
    doc = inspect.getdoc(obj)
    assert doc, f"{name} has no docstring"
    sections = _sections(doc)
    if _has_parameters(obj):
        assert "Parameters" in sections, f"{name}: no Parameters section"
    if inspect.isfunction(obj):
        if _returns_something(obj):
            assert sections & {"Returns", "Yields"}, f"{name}: no Returns section"
        if _raises_on_bad_input(obj):
            assert "Raises" in sections, f"{name}: raises ValueError/TypeError but has no Raises section"
    assert "Examples" in sections, f"{name}: no Examples section"
    examples = doc.split("Examples\n--------", 1)[1]
    assert ">>>" in examples, f"{name}: Examples section has no runnable example"


def _doctest_modules():
    """Public modules plus the (possibly private) modules where re-exported public names live."""
    names = list(_public_modules())
    for _, obj, _ in PUBLIC:
        if obj.__module__ not in names:
            names.append(obj.__module__)
    return names


@pytest.mark.parametrize("modname", _doctest_modules())
def test_docstring_examples_run(modname, tmp_path, monkeypatch):
    module = _import(modname)
    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    tests = [t for t in doctest.DocTestFinder(exclude_empty=True).find(module, modname, globs={})
             if t.examples]
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    out = io.StringIO()
    old = np.get_printoptions()
    np.set_printoptions(precision=4, suppress=True, linewidth=88)
    try:
        for test in tests:
            runner.run(test, out=out.write)
    finally:
        np.set_printoptions(**old)
    assert runner.failures == 0, out.getvalue()
