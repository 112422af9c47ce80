"""Birthday law with signs: incipoly.analytic against its sympy derivation and its own assumptions."""

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import theory.birthday as bd
from incipoly import analytic
from incipoly.config import Config
from incipoly.init import initial_weights

E_SYM, V_SYM = bd.expected_polysemantic(), bd.polysemantic_variance()
PAIRS_SYM = bd.expected_colliding_pairs()

features = st.integers(1, 300)
neurons = st.one_of(st.integers(1, 1000), st.floats(0, 9).map(lambda e: int(10 ** e)))


def close(value, exact, rel=1e-12):
    exact = float(exact)
    return abs(value - exact) <= rel * abs(exact) + (0.0 if exact else 1e-300)


@settings(deadline=None, derandomize=True, max_examples=150)
@given(n=features, m=neurons)
def test_mean_variance_pairs_equal_exact_rational_values(n, m):
    assert close(analytic.expected_polysemantic(n, m), bd.exact_value(E_SYM, n, m))
    assert close(analytic.polysemantic_variance(n, m), bd.exact_value(V_SYM, n, m))
    assert close(analytic.expected_colliding_pairs(n, m), bd.exact_value(PAIRS_SYM, n, m))


@pytest.mark.parametrize("n, m", [(64, 10 ** 9), (2, 10 ** 9), (300, 10 ** 9), (1000, 10 ** 8), (64, 1)])
def test_extreme_sizes_stay_accurate(n, m):
    # At m = 1e9 the bracket 1 − 2(1 − 1/2m)^n + (1 − 1/m)^n is ~1e-15: naive evaluation has no digits left.
    assert close(analytic.expected_polysemantic(n, m), bd.exact_value(E_SYM, n, m))
    assert close(analytic.polysemantic_variance(n, m), bd.exact_value(V_SYM, n, m))


def test_arrays_broadcast_like_scalars():
    n, m = np.array([[1], [8], [64]]), np.array([1, 7, 64, 10 ** 6])
    for f in (analytic.expected_polysemantic, analytic.polysemantic_variance,
              analytic.expected_colliding_pairs, analytic.asymptotic_polysemantic):
        grid = f(n, m)
        assert grid.shape == (3, 4)
        assert all(grid[i, j] == f(int(n[i, 0]), int(m[j])) for i in range(3) for j in range(4))


def test_series_in_inverse_m_matches_closed_coefficients():
    series = bd.series_in_inverse_m(5)
    for k in range(2, 7):
        assert sp.simplify(series.coeff(bd.x, k - 1) - sp.expand_func(bd.series_coefficient(k))) == 0
    assert series.coeff(bd.x, 0) == 0


def test_leading_term_and_paper_asymptote():
    # Leading coefficient n(n−1)/4; the paper's n²/4m is its large-n form.
    lead = sp.expand_func(bd.series_coefficient(2))
    assert sp.limit(lead / bd.n ** 2, bd.n, sp.oo) == sp.Rational(1, 4)
    assert analytic.asymptotic_polysemantic(64, 1024) == 64 ** 2 / (4 * 1024)
    for n, m in [(64, 10 ** 6), (1000, 10 ** 9)]:
        two_terms = n * (n - 1) / (4 * m) - n * (n - 1) * (n - 2) / (8 * m ** 2)
        third = 7 * n ** 4 / (192 * m ** 3)   # bound on the next term of the alternating series
        assert abs(analytic.expected_polysemantic(n, m) - two_terms) <= third
        assert analytic.expected_colliding_pairs(n, m) == pytest.approx(2 * n * (n - 1) / (4 * m))


def _birthday_counts(n, m, size, rng):
    cells = rng.integers(0, 2 * m, size=(size, n))            # cell = 2·neuron + sign
    occupied = np.zeros((size, 2 * m), dtype=bool)
    occupied[np.arange(size)[:, None], cells] = True
    return occupied.reshape(size, m, 2).all(axis=2).sum(axis=1)


@pytest.mark.parametrize("n, m", [(64, 128), (16, 16), (40, 10)])
def test_law_matches_monte_carlo_of_its_assumptions(n, m):
    # 20000 draws, fixed seed; mean within 4 SE, variance within 4 SE of the sample variance.
    counts = _birthday_counts(n, m, 20000, np.random.default_rng(7)).astype(float)
    S = counts.size
    se_mean = counts.std(ddof=1) / np.sqrt(S)
    centred = counts - counts.mean()
    se_var = np.sqrt(((centred ** 4).mean() - counts.var() ** 2) / S)
    assert abs(counts.mean() - analytic.expected_polysemantic(n, m)) < 4 * se_mean
    assert abs(counts.var(ddof=1) - analytic.polysemantic_variance(n, m)) < 4 * se_var


def test_first_choices_of_gaussian_init_follow_the_law():
    # Argmax neuron of an N(0, 1/m) row is uniform and its sign fair and independent, so
    # "neurons that are first choice of a + and a − feature" follow the law (4 SE, 3000 seeds).
    n, m = 32, 64
    W0 = initial_weights(Config(n_features=n, n_hidden=m, dtype="float64"), 3000)
    k = np.abs(W0).argmax(axis=2)
    sign = np.take_along_axis(W0, k[..., None], axis=2)[..., 0] > 0
    occupied = np.zeros((W0.shape[0], m, 2), dtype=bool)
    occupied[np.arange(W0.shape[0])[:, None], k, sign.astype(int)] = True
    counts = occupied.all(axis=2).sum(axis=1)
    se = counts.std(ddof=1) / np.sqrt(counts.size)
    assert abs(counts.mean() - analytic.expected_polysemantic(n, m)) < 4 * se


def test_prediction_interval_formula_and_coverage():
    assert analytic.prediction_interval(1.0, 4.0, 16) == (0.0, 2.0)
    low, high = analytic.prediction_interval(np.array([1.0, 2.0]), np.array([4.0, 0.0]), 4, z=1.0)
    assert np.allclose(low, [0.0, 2.0]) and np.allclose(high, [2.0, 2.0])
    # Means over 25 seeds of the birthday count fall inside mean ± 2 SE ≈ 95.4 % of the time:
    # 4000 repetitions give a binomial SE of 0.0033; allow 0.02 (≈6 SE, covers the CLT error).
    n, m, S = 64, 128, 25
    means = _birthday_counts(n, m, 4000 * S, np.random.default_rng(3)).reshape(4000, S).mean(axis=1)
    low, high = analytic.prediction_interval(analytic.expected_polysemantic(n, m),
                                             analytic.polysemantic_variance(n, m), S)
    coverage = np.mean((means >= low) & (means <= high))
    assert abs(coverage - 0.9545) < 0.02


BAD_COUNTS = [0, -3, 1.5, np.nan, np.inf, True, "8", [], [4, 0], None]


@pytest.mark.parametrize("func", [analytic.expected_polysemantic, analytic.polysemantic_variance,
                                  analytic.expected_colliding_pairs, analytic.asymptotic_polysemantic])
@pytest.mark.parametrize("bad", BAD_COUNTS, ids=repr)
def test_bad_n_and_m_raise(func, bad):
    with pytest.raises(ValueError, match=r"^n must be an integer >= 1"):
        func(bad, 10)
    with pytest.raises(ValueError, match=r"^m must be an integer >= 1"):
        func(10, bad)


@pytest.mark.parametrize("kwargs, name", [
    (dict(mean=np.nan, var=1.0, seeds=4), "mean"), (dict(mean="a", var=1.0, seeds=4), "mean"),
    (dict(mean=1.0, var=-1.0, seeds=4), "var"), (dict(mean=1.0, var=np.inf, seeds=4), "var"),
    (dict(mean=1.0, var=1.0, seeds=0), "seeds"), (dict(mean=1.0, var=1.0, seeds=2.0), "seeds"),
    (dict(mean=1.0, var=1.0, seeds=4, z=0.0), "z"), (dict(mean=1.0, var=1.0, seeds=4, z=np.nan), "z"),
])
def test_prediction_interval_bad_arguments_raise(kwargs, name):
    with pytest.raises(ValueError, match=rf"^{name} must"):
        analytic.prediction_interval(**kwargs)
