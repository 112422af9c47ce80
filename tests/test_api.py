"""The public API is even: one name per idea, old names warn, results compare and name their fields."""
import ast
import importlib
import inspect
import pkgutil
import warnings
from pathlib import Path

import numpy as np
import pytest

import incipoly as ip
from incipoly import analytic, errors, metrics
from incipoly.config import DEFAULT_RECORD, DEFAULT_SEEDS, POLYSEMANTIC_BAND
from incipoly.stores.files import table_of_rows, write_csv

TINY = ip.Config(n_features=3, n_hidden=4, steps=20, lr=1e-2)
PACKAGE = Path(ip.__file__).resolve().parent


def _public_modules():
    for info in pkgutil.walk_packages([str(PACKAGE)], "incipoly."):
        if not any(part.startswith("_") for part in info.name.split(".")[1:]):
            yield info.name


def test_train_and_sweep_are_functions_not_modules():
    assert inspect.isfunction(ip.train) and inspect.isfunction(ip.sweep)
    assert inspect.isfunction(ip.open_sweep)
    assert "incipoly.train" not in set(_public_modules())
    assert "incipoly.sweep" not in set(_public_modules())


@pytest.mark.parametrize("name", sorted(set(_public_modules()) - {"incipoly.stores.cluster"}))
def test_every_public_module_declares_all(name):
    module = importlib.import_module(name)
    assert isinstance(getattr(module, "__all__", None), list), name
    for public in module.__all__:
        assert hasattr(module, public), f"{name}.__all__ names missing {public}"


def test_cluster_module_declares_all():
    """incipoly.stores.cluster imports dask at module level (the [dask] extra); check its source."""
    tree = ast.parse((PACKAGE / "stores" / "cluster.py").read_text())
    assert any(isinstance(n, ast.Assign) and n.targets[0].id == "__all__" for n in tree.body
               if isinstance(n, ast.Assign) and isinstance(n.targets[0], ast.Name))


def test_validation_helpers_are_not_public_metrics():
    assert not [n for n in metrics.__all__ if n.startswith("check_")]
    assert not [n for n in dir(metrics) if n.startswith("check_")]


def test_every_exception_class_lives_in_errors_and_on_the_package():
    defined = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and any(
                    getattr(b, "id", getattr(b, "attr", "")).endswith(("Error", "Exception"))
                    for b in node.bases):
                defined.append((path.relative_to(PACKAGE).as_posix(), node.name))
    assert defined and all(path == "errors.py" for path, _ in defined), defined
    for _, name in defined:
        assert name in errors.__all__ and getattr(ip, name) is getattr(errors, name)


def test_one_version_string_and_py_typed():
    from incipoly._version import __version__
    assert ip.__version__ == __version__
    assert (PACKAGE / "py.typed").is_file()
    text = (PACKAGE.parent / "pyproject.toml").read_text()
    assert 'dynamic = ["version"]' in text and "incipoly._version.__version__" in text
    assert '"py.typed"' in text


def test_default_seeds_and_record():
    run = ip.train(TINY, progress=False)
    assert list(run.seeds) == list(range(DEFAULT_SEEDS))
    assert len(run.history["step"]) == len(ip.training.record_steps(TINY.steps, DEFAULT_RECORD))
    W0 = np.zeros((3, 3, 4), np.float32) + 0.1
    assert len(ip.train(TINY, W0=W0, progress=False).seeds) == 3
    for f in (ip.train, ip.sweep):
        assert inspect.signature(f).parameters["record"].default == DEFAULT_RECORD


def test_band_is_one_named_constant():
    for f in (metrics.polysemantic_neurons, metrics.assignments):
        assert inspect.signature(f).parameters["band"].default is POLYSEMANTIC_BAND


def test_snapshots_is_a_deprecated_name_of_keep_weights():
    new = ip.train(TINY, seeds=[1], record=3, keep_weights=True, progress=False)
    with pytest.warns(DeprecationWarning, match="keep_weights"):
        old = ip.train(TINY, seeds=[1], record=3, snapshots=True, progress=False)
    assert "W" in new.history and old == new
    with pytest.raises(TypeError, match="keep_weights"), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ip.train(TINY, seeds=[1], snapshots=True, keep_weights=True, progress=False)
    with pytest.warns(DeprecationWarning, match="keep_weights"):
        est = ip.training.memory_estimate(TINY, 2, 3, snapshots=True)
    assert est == ip.training.memory_estimate(TINY, 2, 3, keep_weights=True)


def test_positional_W0_of_polysemanticity_warns_and_agrees():
    run = ip.train(TINY, seeds=[0, 1], progress=False)
    with pytest.warns(DeprecationWarning, match="W0=W0"):
        old = metrics.polysemanticity(run.W, run.W0)
    new = metrics.polysemanticity(run.W, W0=run.W0)
    assert type(old) is type(new) and all(np.array_equal(a, b) for a, b in zip(old, new, strict=True))
    with pytest.warns(DeprecationWarning):
        shifted = metrics.polysemanticity(run.W, run.W0, 0.9)
    assert all(np.array_equal(a, b) for a, b in
               zip(shifted, metrics.polysemanticity(run.W, W0=run.W0, fraction=0.9), strict=True))


def test_runs_compare_by_value():
    a = ip.train(TINY, seeds=[2, 5], progress=False)
    b = ip.train(TINY, seeds=[2, 5], progress=False)
    b.info["seconds"] = a.info["seconds"] + 1.0                  # info is not compared
    assert a == b and not (a != b)
    b.W[0, 0, 0] = np.nextafter(b.W[0, 0, 0], np.inf)
    assert a != b
    assert a != ip.train(TINY, seeds=[2, 6], progress=False)
    assert a != ip.train(TINY.replace(lr=2e-2), seeds=[2, 5], progress=False)
    assert (a == "run") is False
    with pytest.raises(TypeError):
        hash(a)


def test_open_sweep_and_clear_error_without_weights(tmp_path):
    st = ip.sweep(TINY, seeds=2, store=tmp_path / "s", progress=False)
    opened = ip.open_sweep(tmp_path / "s")
    assert isinstance(opened, ip.SweepStore) and opened.configs == [TINY]
    assert list(opened.result(0)["seed"]) == [0, 1]
    with pytest.raises(ValueError, match=r"keep_weights=False.*st\.result\(0\)"):
        st.run(0)
    with pytest.raises(FileNotFoundError):
        ip.open_sweep(tmp_path / "nothing")


def test_theory_results_are_named():
    est = analytic.expected_cascade_polysemantic(4, 8, seeds=20)
    assert isinstance(est, analytic.Estimate) and est.se > 0
    mean, se = est
    assert (mean, se) == (est.mean, est.se)
    low, high = analytic.prediction_interval(1.0, 4.0, seeds=4)
    iv = analytic.prediction_interval(1.0, 4.0, seeds=4)
    assert isinstance(iv, analytic.Interval) and (iv.low, iv.high) == (low, high) == (-1.0, 3.0)


def test_one_csv_writer(tmp_path):
    table = {"seed": np.array([0, 7]), "x": np.array([0.1, 1 / 3]), "name": ["a", "b"]}
    text = write_csv(tmp_path / "t.csv", table).read_text()
    assert text.splitlines() == ["seed,x,name", "0,0.1,a", "7,0.3333333333,b"]
    rows = [{"a": 1, "b": 2.5}, {"a": 2, "b": 0.125}]
    assert table_of_rows(rows) == {"a": [1, 2], "b": [2.5, 0.125]}
    assert write_csv(tmp_path / "r.csv", table_of_rows(rows), digits=2).read_text().splitlines() \
        == ["a,b", "1,2.5", "2,0.12"]
