"""Property-based fuzzing of every public entry point with one argument replaced by anything.

The contract (issue 11): a bad argument raises ``ValueError`` (``TypeError`` for a wrong type)
whose message names that argument; training may also raise ``DivergenceError`` or
``MemoryError``; nothing else escapes. The CLI, driven in process through ``main(argv)``, exits
0, 1 or 2 (argparse's own errors as ``SystemExit(2)``), and a status 2 names the flag.
Shapes stay tiny and examples bounded so the whole file runs in well under a minute.
"""
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import incipoly as ip
from incipoly import analytic, init, metrics
from incipoly.cli import main
from incipoly.training import DivergenceError

FUZZ = settings(derandomize=True, deadline=None, max_examples=120, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
ALLOWED = (ValueError, TypeError, DivergenceError, MemoryError)

#: Anything a caller might pass: numbers of every kind (small, huge, NaN, ±inf), strings, bools,
#: None, complex, lists and arrays of every dtype and a few tiny shapes.
NUMBERS = st.one_of(
    st.integers(-3, 12), st.sampled_from([10 ** 20, -(10 ** 20), 2 ** 63, 10 ** 400]),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([1e-300, 1e300, 0.5, 0.0]),
    st.sampled_from([np.int64(3), np.float32(0.5), np.float64(np.nan), np.bool_(True)]))
ARRAYS = hnp.arrays(dtype=st.sampled_from([np.float64, np.float32, np.int64, np.bool_,
                                           np.complex128, np.dtype("U2")]),
                    shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3))
ANYTHING = st.one_of(NUMBERS, ARRAYS, st.none(), st.booleans(), st.text(max_size=4),
                     st.complex_numbers(max_magnitude=5), st.lists(st.integers(-2, 5), max_size=3),
                     st.tuples(NUMBERS, NUMBERS))


def never_valid(value) -> bool:
    """Whether ``value`` is NaN or complex, or holds one: no argument of incipoly accepts those."""
    if isinstance(value, (complex, np.complexfloating)):
        return True
    if isinstance(value, (float, np.floating)):
        return bool(np.isnan(value))
    if isinstance(value, np.ndarray):
        return value.dtype.kind == "c" or (value.dtype.kind == "f" and bool(np.isnan(value).any()))
    if isinstance(value, (list, tuple)):
        return any(never_valid(v) for v in value)
    return False


def check(call, name, value):
    """Run ``call()``; an exception must be an allowed one whose message names ``name``, and a
    call that returns must not have been given a value that is never valid (NaN, complex)."""
    try:
        call()
    except (DivergenceError, MemoryError):
        return
    except ALLOWED as exc:
        assert name in str(exc), f"{type(exc).__name__} does not name {name!r}: {exc}"
        return
    assert not never_valid(value), f"{name}={value!r} was accepted"


BASE = ip.Config(n_features=2, n_hidden=3, steps=2)
FIELDS = [f for f in ip.Config.__dataclass_fields__]


@FUZZ
@given(field=st.sampled_from(FIELDS), value=ANYTHING)
def test_config_fields(field, value):
    check(lambda: BASE.replace(**{field: value}), field, value)


TRAIN_ARGS = ["seeds", "W0", "backend", "record", "keep_weights", "active_tol", "progress",
              "chunk_steps"]


@FUZZ
@given(arg=st.sampled_from(TRAIN_ARGS), value=ANYTHING)
def test_train_arguments(arg, value):
    if arg == "backend" and isinstance(value, str) and value == "cuda":
        return                          # a real backend choice, not a bad value
    check(lambda: ip.train(BASE, **{"progress": False, arg: value}), arg, value)


@FUZZ
@given(value=ANYTHING)
def test_train_config_argument(value):
    check(lambda: ip.train(value, progress=False), "config", value)


GOOD_W = np.array([[1.0, 0.0, -1.0], [0.0, 0.9, 0.0]])
METRICS = {
    "polysemantic_neurons": (metrics.polysemantic_neurons, {"W": GOOD_W, "band": (0.8, 1.2)}),
    "polysemantic_neurons_above": (metrics.polysemantic_neurons_above,
                                   {"W": GOOD_W, "threshold": 0.5}),
    "assignments": (metrics.assignments, {"W": GOOD_W, "band": (0.8, 1.2)}),
    "initial_collisions": (metrics.initial_collisions, {"W0": GOOD_W}),
    "winner_rank": (metrics.winner_rank, {"W0": GOOD_W, "W": GOOD_W}),
    "start_end_correlation": (metrics.start_end_correlation, {"W0": GOOD_W, "W": GOOD_W}),
    "feature_norms": (metrics.feature_norms, {"W": GOOD_W}),
    "mean_se": (metrics.mean_se, {"x": [1.0, 2.0], "axis": None}),
}
METRIC_CASES = [(f, a) for f, (_, kw) in METRICS.items() for a in kw]


@FUZZ
@given(case=st.sampled_from(METRIC_CASES), value=ANYTHING)
def test_metrics(case, value):
    name, arg = case
    fn, kwargs = METRICS[name]
    check(lambda: fn(**{**kwargs, arg: value}), arg, value)


ANALYTIC = {
    "expected_polysemantic": (analytic.expected_polysemantic, {"n": 5, "m": 7}),
    "polysemantic_variance": (analytic.polysemantic_variance, {"n": 5, "m": 7}),
    "expected_colliding_pairs": (analytic.expected_colliding_pairs, {"n": 5, "m": 7}),
    "asymptotic_polysemantic": (analytic.asymptotic_polysemantic, {"n": 5, "m": 7}),
    "prediction_interval": (analytic.prediction_interval,
                            {"mean": 1.0, "var": 0.5, "seeds": 4, "z": 2.0}),
    "cascade_assignment": (analytic.cascade_assignment, {"W0": GOOD_W}),
    "cascade_polysemantic": (analytic.cascade_polysemantic, {"W0": GOOD_W}),
    "expected_cascade_polysemantic": (analytic.expected_cascade_polysemantic,
                                      {"n": 3, "m": 4, "seeds": 3, "init": "normal"}),
    "sparsification_trajectory": (analytic.sparsification_trajectory,
                                  {"t": [0.0, 1.0], "l1": 0.01, "m": 8}),
    "sparsification_w0": (analytic.sparsification_trajectory,
                          {"t": [0.0, 1.0], "l1": 0.01, "w0": [0.5, -0.2, 0.1]}),
    "sparsification_seed": (analytic.sparsification_trajectory,
                            {"t": 1.0, "l1": 0.01, "m": 8, "seed": 1}),
    "monosemantic_time": (analytic.monosemantic_time, {"l1": 0.5, "m": 8, "t_max": 50.0}),
    "paper_sparsification": (analytic.paper_sparsification, {"t": 1.0, "l1": 0.01, "m": 8}),
    "noise_kurtosis": (analytic.noise_kurtosis, {"noise": "uniform"}),
    "expected_noisy_loss": (analytic.expected_noisy_loss,
                            {"W": GOOD_W, "noise_std": 0.1, "noise": "bernoulli"}),
    "kurtosis_loss_term": (analytic.kurtosis_loss_term,
                           {"W": GOOD_W, "noise_std": 0.1, "noise": "laplace"}),
}
ANALYTIC_CASES = [(f, a) for f, (_, kw) in ANALYTIC.items() for a in kw]


@FUZZ
@given(case=st.sampled_from(ANALYTIC_CASES), value=ANYTHING)
def test_analytic(case, value):
    name, arg = case
    fn, kwargs = ANALYTIC[name]
    if name == "expected_cascade_polysemantic" and arg in ("n", "m", "seeds") \
            and isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value > 12:
        return                          # a valid but large Monte Carlo: not a bad argument
    if arg in ("t", "t_max") and _huge_horizon(value):
        return                          # a valid horizon; the ODE to there is slow (as in NASTY)
    check(lambda: fn(**{**kwargs, arg: value}), arg, value)


def _huge_horizon(value):
    """A real number (or tuple/list of them) beyond 1e6 and finite: valid, but slow to integrate."""
    items = value if isinstance(value, (list, tuple)) else [value]
    try:
        return any(not isinstance(v, (bool, np.bool_, str)) and 1e6 < abs(float(v)) < np.inf
                   for v in items)
    except (TypeError, ValueError, OverflowError):
        return False


@FUZZ
@given(n=st.integers(1, 10 ** 6), m=st.integers(1, 10 ** 6))
def test_birthday_law_is_finite_and_in_range(n, m):
    mean, var = analytic.expected_polysemantic(n, m), analytic.polysemantic_variance(n, m)
    assert 0 <= mean <= min(m, n / 2) + 1e-9 * max(1, mean)
    assert np.isfinite(var) and var >= -1e-9 * max(1.0, mean)


INIT = {
    "normalize_seeds": (init.normalize_seeds, {"seeds": 2}),
    "initial_weights": (init.initial_weights, {"config": BASE, "seeds": 2}),
    "noise_keys": (init.noise_keys, {"seeds": 2}),
    "init_std": (init.init_std, {"config": BASE}),
}
INIT_CASES = [(f, a) for f, (_, kw) in INIT.items() for a in kw]


@FUZZ
@given(case=st.sampled_from(INIT_CASES), value=ANYTHING)
def test_init_helpers(case, value):
    name, arg = case
    fn, kwargs = INIT[name]
    check(lambda: fn(**{**kwargs, arg: value}), arg, value)


#: Values that broke entry points before (0-d arrays, unhashable lists, ints beyond float range,
#: σ⁴ overflow ...): every one is tried on every argument, deterministically.
BIG_INT, HUGE = 10 ** 20, 1e300
SLOW_HORIZONS = (BIG_INT, HUGE)
NASTY = [None, True, -3, 0, BIG_INT, 10 ** 400, float("nan"), float("inf"), 1e-300, HUGE, "",
         "1", 1 + 2j, [], [1, 1], (0.5, 0.2), np.bool_(True), np.array(3), np.array([]),
         np.full((2, 3), np.nan), np.ones((2, 3), complex), np.ones((2, 3), bool),
         np.array([["a", "b"]]), np.zeros((2, 2, 2, 2)), np.full((2, 3), 1e300)]
ALL_CASES = ([("Config", f) for f in FIELDS] + [("train", a) for a in TRAIN_ARGS]
             + [("metrics", c) for c in METRIC_CASES] + [("analytic", c) for c in ANALYTIC_CASES]
             + [("init", c) for c in INIT_CASES])


def _call(kind, case, value):
    if kind == "Config":
        return lambda: BASE.replace(**{case: value}), case
    if kind == "train":
        return lambda: ip.train(BASE, **{"progress": False, case: value}), case
    table = {"metrics": METRICS, "analytic": ANALYTIC, "init": INIT}[kind]
    fn, kwargs = table[case[0]]
    return lambda: fn(**{**kwargs, case[1]: value}), case[1]


@pytest.mark.parametrize("kind, case", ALL_CASES, ids=lambda x: str(x))
def test_every_argument_with_nasty_values(kind, case):
    for value in NASTY:
        if case[-1] in ("t", "t_max") and any(value is v for v in SLOW_HORIZONS):
            continue        # valid horizons; the ODE to there is slow (known, see issue notes)
        call, name = _call(kind, case, value)
        check(call, name, value)


# --- the command line, in process ---------------------------------------------------------------

#: Text a user might type for a flag's value: numbers of every size, words, lists, ranges.
FLAG_TEXT = st.one_of(
    st.integers(-3, 40).map(str),
    st.sampled_from(["0", "1", "2", "nan", "inf", "-inf", "1e400", "1e-400", "0.5", "-0.5",
                     "99999999999999999999", "100000000000", "2.5", "abc", "", "1,1", "0-3",
                     "3-1", "1,x", "-2", "sgd", "none", "bernoulli", "float16", " 3 "]),
    st.text(alphabet="0123456789.-,e", max_size=6))

TRAIN_FLAGS = {"--n-features": "n_features", "--n-hidden": "n_hidden", "--steps": "steps",
               "--optimizer": "optimizer", "--lr": "lr", "--l1": "l1",
               "--weight-decay": "weight_decay", "--noise": "noise", "--noise-std": "noise_std",
               "--init": "init", "--dtype": "dtype", "--seeds": "seeds", "--record": "record"}
COMPARE_FLAGS = {"--n": "n", "--ratios": "ratio", "--optimizers": "optimizers", "--l1": "l1",
                 "--lr": "lr", "--steps": "steps", "--seeds": "seeds"}


def cli_status(argv):
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code


def names_flag(err, flag, field):
    dashed = flag.lstrip("-")
    return any(x in err for x in (flag, dashed, dashed.replace("-", "_"), field))


@pytest.fixture
def quiet(capsys):
    return capsys


@FUZZ
@given(flag=st.sampled_from(sorted(TRAIN_FLAGS)), text=FLAG_TEXT)
def test_cli_train_flags(flag, text, tmp_path_factory, quiet):
    # Huge-but-valid sizes would just take long; cap the work, not the validation.
    if flag in ("--steps", "--n-features", "--n-hidden") and text.strip().isdigit() \
            and 40 < int(text) < 10 ** 9:
        return
    out = tmp_path_factory.mktemp("train")
    argv = ["train", "--n-features", "3", "--n-hidden", "4", "--steps", "3", "--seeds", "2",
            "--no-progress", "--out", str(out / "r"), f"{flag}={text}"]
    status = cli_status(argv)
    err = quiet.readouterr().err
    assert status in (0, 1, 2), status
    assert "Traceback" not in err
    if status == 2:
        assert names_flag(err, flag, TRAIN_FLAGS[flag]), err
    if status == 1:
        assert re.match(r"incipoly: error: (training diverged|out of memory)", err), err


@FUZZ
@given(flag=st.sampled_from(sorted(COMPARE_FLAGS)), text=FLAG_TEXT)
def test_cli_compare_flags(flag, text, tmp_path_factory, quiet):
    if flag in ("--steps", "--n", "--seeds", "--ratios") and text.strip().isdigit() \
            and int(text) > 24:
        return
    out = tmp_path_factory.mktemp("compare")
    argv = ["compare", "--n", "2", "--ratios", "1", "--optimizers", "sgd", "--steps", "3",
            "--seeds", "2", "--no-progress", "--out", str(out), f"{flag}={text}"]
    status = cli_status(argv)
    err = quiet.readouterr().err
    assert status in (0, 1, 2), status
    assert "Traceback" not in err
    if status == 2:
        assert names_flag(err, flag, COMPARE_FLAGS[flag]), err


@FUZZ
@given(path=st.text(max_size=8))
def test_cli_show_any_path(path, quiet):
    status = cli_status(["show", path])
    err = quiet.readouterr().err
    assert status == 2 and "RUN_DIR" in err, err
