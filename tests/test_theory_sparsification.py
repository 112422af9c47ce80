"""Reduced one-feature sparsification flow against its derivation and a direct integration."""
import math
import time

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import theory.sparsification as sparse
from incipoly import analytic


def test_closed_form_solves_the_flow():
    assert sparse.closed_form_residual() == 0
    assert sparse.survivor_sum_residual() == 0


def test_half_normal_tail_sums_equal_sympy_integrals():
    x, moments = sparse.tail_moments()
    exact = [sp.lambdify(x, v, "mpmath") for v in moments]
    for value in (0.0, 0.3, 1.0, 2.5, 6.0, 12.0):
        for got, want in zip(analytic._survivors._tail_moments(np.float64(value)), exact, strict=True):
            assert got == pytest.approx(float(want(sp.Float(value, 50))), rel=1e-11)


def _reduced_weights(traj, w0):
    return traj.scale[:, None] * np.sign(w0) * np.maximum(np.abs(w0) - traj.threshold[:, None], 0.0)


def test_reduced_flow_matches_direct_integration_at_rate_dt():
    # m = 40, λ = 0.05, up to λt = 1.5 (most coordinates die on the way). Proximal Euler is first
    # order: its error must be small and halve with dt.
    w0 = np.random.default_rng(4).normal(0.0, 1 / np.sqrt(40), 40)
    times = np.array([4.0, 12.0, 30.0])
    reduced = _reduced_weights(analytic.sparsification_trajectory(times, 0.05, w0=w0), w0)
    errors = []
    for dt in (4e-3, 2e-3):
        w, t0, err = w0, 0.0, 0.0
        for t, want in zip(times, reduced, strict=True):
            w = sparse.direct_flow(w, 0.05, t - t0, dt)
            t0, err = t, max(err, np.abs(w - want).max())
        errors.append(err)
    assert errors[0] < 0.02
    assert 0.35 < errors[1] / errors[0] < 0.65
    traj = analytic.sparsification_trajectory(times, 0.05, w0=w0)
    assert traj.m_active.tolist() == [np.count_nonzero(r) for r in reduced]
    assert np.allclose(traj.l1_norm, np.abs(reduced).sum(axis=1))


@settings(deadline=None, derandomize=True, max_examples=25)
@given(seed=st.integers(0, 10 ** 6), m=st.integers(2, 30), lam=st.floats(0.01, 0.5))
def test_direct_flow_preserves_coordinate_order(seed, m, lam):
    w0 = np.random.default_rng(seed).normal(0.0, 1 / np.sqrt(m), m)
    w = sparse.direct_flow(w0, lam, 2.0, 1e-2)
    order = np.argsort(np.abs(w0))
    assert np.all(np.diff(np.abs(w)[order]) >= -1e-12)


def test_small_lambda_approaches_the_adiabatic_time():
    w0 = np.random.default_rng(2).normal(0.0, 0.1, 100)
    lam = 1e-5
    assert lam * analytic.monosemantic_time(lam, w0=w0) == pytest.approx(
        lam * sparse.adiabatic_time(lam, w0=w0), rel=1e-4)
    assert lam * analytic.monosemantic_time(lam, m=10 ** 5) == pytest.approx(
        lam * sparse.adiabatic_time(lam, m=10 ** 5), rel=1e-4)


def test_time_to_monosemanticity_tends_to_root_two_over_lambda():
    assert sparse.tail_square_asymptotic() == 1      # E(|Z|−x)₊² ~ 4φ(x)/x³ drives λT → √2
    # λ ≪ 1/√m keeps the feature alive (λ‖w0‖₁ < 1, README); the limit is approached like 1/log m.
    lams = {e: 1e-4 / math.sqrt(10 ** e) for e in (3, 5, 9, 15, 30, 60)}
    values = [lam * analytic.monosemantic_time(lam, m=10 ** e) for e, lam in lams.items()]
    assert all(a > b > math.sqrt(2) for a, b in zip(values, values[1:], strict=False))
    assert values[-1] < 1.01 * math.sqrt(2)


def test_exact_monosemanticity_comes_later_than_the_papers_estimate():
    # m = 1e5, λ = 1e-5: the paper's m′(t) reaches 1 at (1 − 1/√m)/λ ≈ 0.997/λ; the profile at
    # ≈ 1.52/λ; random draws (full w0) average ≈ 1.9/λ.
    m, lam = 10 ** 5, 1e-5
    paper = (1 - 1 / math.sqrt(m)) / lam
    assert analytic.paper_sparsification(paper, lam, m).m_active == pytest.approx(1.0)
    assert analytic.monosemantic_time(lam, m=m) > 1.5 * paper
    rng = np.random.default_rng(0)
    times = [analytic.monosemantic_time(lam, w0=rng.normal(0, 1 / math.sqrt(m), m)) for _ in range(3)]
    assert min(times) > 1.2 * paper


@settings(deadline=None, derandomize=True, max_examples=40)
@given(m=st.integers(1, 10 ** 9), lam=st.floats(0, 1), t=st.floats(0, 1e4))
def test_paper_approximation_equals_its_ode_solution(m, lam, t):
    msym, solution = sparse.paper_l1_norm()
    want = float(solution.subs({msym: m, sparse.lam: lam, sparse.t: t}).evalf(30))
    got = analytic.paper_sparsification(t, lam, m)
    assert got.l1_norm == pytest.approx(want, rel=1e-12)
    assert got.m_active == pytest.approx(want ** 2, rel=1e-12)


def test_billion_neurons_in_well_under_a_second():
    """CPU seconds of this process (the solver is single-threaded), so other jobs sharing the
    cores do not count: ≈ 0.3 s each on a 2-core EPYC (wall ≈ 0.8 s at load 6)."""
    times = np.linspace(0.0, 3e5, 61)
    start = time.process_time()
    profile = analytic.sparsification_trajectory(times, 1e-5, m=10 ** 9)
    elapsed_profile = time.process_time() - start
    start = time.process_time()
    drawn = analytic.sparsification_trajectory(times, 1e-5, m=10 ** 9, seed=1)
    elapsed_drawn = time.process_time() - start
    assert elapsed_profile < 1.0 and elapsed_drawn < 2.0
    assert profile.m_active[0] == drawn.m_active[0] == 10 ** 9
    assert np.all(np.diff(drawn.m_active) <= 0) and drawn.m_active[-1] == 1
    # While many coordinates survive, one draw follows the law-of-large-numbers profile.
    many = profile.m_active > 1e3
    assert np.allclose(drawn.m_active[many], profile.m_active[many], rtol=0.05)


def test_sampled_top_order_statistics_have_the_right_law():
    # The largest of m = 20000 |N(0, 1/m)| and ‖w0‖²: 300 sampled draws vs 300 full draws (4 SE).
    m, draws = 20000, 300
    rng = np.random.default_rng(8)
    full = np.abs(rng.normal(0.0, 1 / np.sqrt(m), (draws, m)))
    sampled = [analytic._survivors._sampled_sums(m, seed) for seed in range(draws)]
    top = np.array([s[0](s[1])[2] ** 0.5 + s[1] for s in sampled])   # only the largest survives θ₂
    se = np.sqrt(top.var(ddof=1) / draws + full.max(axis=1).var(ddof=1) / draws)
    assert abs(top.mean() - full.max(axis=1).mean()) < 4 * se
    norms = np.array([s[0](0.0)[2] for s in sampled])
    assert abs(norms.mean() - 1.0) < 4 * np.sqrt(2.0 / m / draws)


def test_large_lambda_kills_the_whole_feature():
    w0 = np.random.default_rng(5).normal(0.0, 1 / np.sqrt(50), 50)
    traj = analytic.sparsification_trajectory([0.0, 1.0, 5.0], 3.0, w0=w0)
    assert traj.m_active.tolist() == [50, 0, 0] and traj.l1_norm[1:].tolist() == [0.0, 0.0]
    assert not sparse.direct_flow(w0, 3.0, 1.0, 1e-3).any()


def test_trivial_cases():
    assert analytic.monosemantic_time(0.1, w0=[0.0, 0.5, 0.0]) == 0.0
    assert analytic.monosemantic_time(0.0, m=100) == math.inf
    assert analytic.monosemantic_time(0.1, w0=[0.3, -0.3]) == math.inf     # a tie never separates
    flat = analytic.sparsification_trajectory([0.0, 2.0], 0.1, w0=[0.0, 0.0])
    assert flat.m_active.tolist() == [0, 0] and flat.l1_norm.tolist() == [0, 0]
    still = analytic.sparsification_trajectory(0.0, 0.1, w0=[0.6, -0.8])
    assert still.l1_norm.tolist() == [1.4] and still.scale.tolist() == [1.0]


@pytest.mark.parametrize("kwargs, message", [
    (dict(t=[1.0], l1=0.1), "give exactly one of m"),
    (dict(t=[1.0], l1=0.1, m=10, w0=[1.0]), "give exactly one of m"),
    (dict(t=[1.0], l1=0.1, w0=[1.0], seed=1), "seed applies only with m"),
    (dict(t=[1.0], l1=0.1, m=0), "^m must be an integer >= 1"),
    (dict(t=[1.0], l1=0.1, m=2.5), "^m must be"),
    (dict(t=[1.0], l1=0.1, m=10, seed=-1), "^seed must be"),
    (dict(t=[1.0], l1=0.1, w0=np.ones((2, 2))), "^w0 must be"),
    (dict(t=[1.0], l1=0.1, w0=[np.nan]), "^w0 must be finite"),
    (dict(t=[1.0], l1=-0.1, m=10), "^l1 must be"), (dict(t=[1.0], l1=np.inf, m=10), "^l1 must be"),
    (dict(t=[-1.0], l1=0.1, m=10), "^t must be"), (dict(t=[2.0, 1.0], l1=0.1, m=10), "^t must be"),
    (dict(t=[[1.0]], l1=0.1, m=10), "^t must be"), (dict(t=[np.nan], l1=0.1, m=10), "^t must be"),
])
def test_trajectory_bad_arguments_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        analytic.sparsification_trajectory(**kwargs)


@pytest.mark.parametrize("kwargs, message", [
    (dict(l1=-1.0, m=10), "^l1 must be"), (dict(l1=0.1), "give exactly one of m"),
    (dict(l1=0.1, m=10, t_max=0.0), "^t_max must be"), (dict(l1=0.1, m=10, t_max=-1.0), "^t_max must be"),
])
def test_monosemantic_time_bad_arguments_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        analytic.monosemantic_time(**kwargs)


@pytest.mark.parametrize("args, message", [
    ((-1.0, 0.1, 10), "^t must be"), ((1.0, -0.1, 10), "^l1 must be"), ((1.0, 0.1, 0), "^m must be"),
])
def test_paper_sparsification_bad_arguments_raise(args, message):
    with pytest.raises(ValueError, match=message):
        analytic.paper_sparsification(*args)
