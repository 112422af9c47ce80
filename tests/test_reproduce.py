"""``incipoly reproduce``: all seven experiments at small scale, CSVs, PNGs, resume, errors."""
import contextlib
import csv
import importlib
import io
import sys

import numpy as np
import pytest

import incipoly as ip
from incipoly import experiments, plot
from incipoly.cli import main
from incipoly.training import record_steps

NAMES = ("sparsity", "noise", "collisions", "correlations", "curves", "superposition",
         "cooccurrence")
PARAMS = experiments.SCALE_PARAMS

#: Every CSV of ``reproduce all --scale small``: its columns and number of rows.
EXPECTED_CSV = {
    "sparsity/trajectory.csv": (
        ["step", "t", "sim_m_active", "sim_l1_norm", "exact_m_active", "exact_l1_norm",
         "paper_m_active", "paper_l1_norm"],
        len(record_steps(40_000, 96))),
    "noise/l4.csv": (
        ["noise", "noise_std", "kurtosis", "step", "mean", "se", "min", "max"],
        8 * len(record_steps(20_000, 48))),
    "collisions/polysemantic.csv": (
        ["n", "m", "seeds", "sim_mean", "sim_se", "n2_over_4m", "birthday", "cascade_mean",
         "cascade_se", "exclusion", "exclusion_se", "exclusion_sd"], 5),
    "correlations/heatmap.csv": (["w0_lo", "w0_hi", "w_lo", "w_hi", "count"], 60 * 60),
    "correlations/winner_rank.csv": (["rank", "count", "fraction"], None),   # ranks 0 … max seen
    "curves/bands.csv": (
        ["l1", "n", "m", "seeds", "mean", "p10", "p50", "p90", "n2_over_4m", "birthday",
         "exclusion_complete"], 3 * 4),
    "superposition/by_p.csv": (
        ["p", "inv_p", "seeds"] + [f"{k}_{s}" for k in (
            "represented", "dims_per_feature", "polysemantic", "necessary", "incidental",
            "same_sign", "opposite_sign") for s in ("mean", "se")], 7),
    "superposition/features.csv": (["p", "seed", "feature", "norm", "dimensionality"], 7 * 4 * 20),
    "cooccurrence/by_p.csv": (
        ["p", "n", "m", "seeds", "birthday"] + [f"{k}_{s}" for k in (
            "band", "polysemantic", "same_sign", "opposite_sign", "incidental")
            for s in ("mean", "se")] + ["incidental_share"], 6),
}


def run_cli(argv):
    """``main(argv)`` → (exit status, stdout, stderr); argparse's SystemExit gives the status."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = main(argv)
        except SystemExit as exc:
            rc = exc.code
    return rc, out.getvalue(), err.getvalue()


def read_csv(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def column(path, name, kind=float):
    header, rows = read_csv(path)
    j = header.index(name)
    return np.array([kind(r[j]) for r in rows])


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """``incipoly reproduce all --scale small`` once for the module: (directory, stdout)."""
    out = tmp_path_factory.mktemp("reproduce")
    rc, stdout, stderr = run_cli(["reproduce", "all", "--scale", "small", "--out", str(out),
                                  "--no-progress"])
    assert rc == 0, stderr
    return out, stdout


def test_all_prints_one_summary_line_per_experiment(small):
    out, stdout = small
    lines = stdout.strip().splitlines()
    assert [ln.split(" ")[0] for ln in lines] == list(NAMES)
    for name, line in zip(NAMES, lines):
        assert line.startswith(f"{name} [small]: ")
        assert str(out / name) in line
        assert (out / name / "store" / "sweep.json").is_file()


@pytest.mark.parametrize("name", NAMES)
def test_png_is_a_readable_nontrivial_image(small, name):
    pytest.importorskip("matplotlib", reason="the PNGs are drawn with the [plot] extra")
    from matplotlib.image import imread
    path = small[0] / name / f"{name}.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = imread(path)
    assert image.shape[0] >= 400 and image.shape[1] >= 600
    assert image[..., :3].std() > 0.05                          # not a blank canvas


@pytest.mark.parametrize("name", sorted(EXPECTED_CSV))
def test_csv_has_expected_columns_and_rows(small, name):
    columns, n_rows = EXPECTED_CSV[name]
    header, rows = read_csv(small[0] / name)
    assert header == columns
    assert all(len(r) == len(columns) for r in rows)
    if n_rows is not None:
        assert len(rows) == n_rows
    else:
        assert rows


def test_sparsity_simulation_follows_the_exact_ode(small):
    path = small[0] / "sparsity" / "trajectory.csv"
    sim, exact = column(path, "sim_m_active"), column(path, "exact_m_active")
    m = PARAMS["sparsity"]["small"]["n_hidden"]
    assert sim[0] == m and sim[-1] == 1                          # m′: every neuron → one neuron
    assert np.all(np.abs(sim - exact) <= 2 + 0.01 * exact)
    l1_sim, l1_exact = column(path, "sim_l1_norm"), column(path, "exact_l1_norm")
    np.testing.assert_allclose(l1_sim, l1_exact, rtol=0.02)
    np.testing.assert_allclose(column(path, "t"), column(path, "step") * 0.05)


def test_noise_orders_laws_by_kurtosis(small):
    path = small[0] / "noise" / "l4.csv"
    kind, sigma = column(path, "noise", str), column(path, "noise_std")
    step, mean = column(path, "step"), column(path, "mean")
    final = {(k, s): mean[(kind == k) & (sigma == s) & (step == step.max())][0]
             for k, s in experiments.NOISE_SETTINGS}
    assert (final[("bernoulli", 0.15)] > final[("bernoulli", 0.1)] > final[("gaussian", 0.1)]
            > final[("laplace", 0.1)])
    assert np.all(column(path, "min") <= mean) and np.all(mean <= column(path, "max"))


def _stored_counts(directory):
    """Per-config polysemantic counts, read back from an experiment's sweep store: {(l1, m): counts}."""
    st = ip.open_sweep(directory / "store")
    return {(c.l1, c.n_hidden): st.result(i)["polysemantic"] for i, c in enumerate(st.configs)}


def _birthday(n, m):
    """E[# neurons holding features of both signs] when n features land uniformly on m neurons
    with a random sign: m (1 − 2 (1 − 1/2m)ⁿ + (1 − 1/m)ⁿ) (inclusion–exclusion)."""
    return m * (1 - 2 * (1 - 1 / (2 * m)) ** n + (1 - 1 / m) ** n)


def test_collision_table_is_the_stored_runs_and_the_birthday_law(small):
    """Each row holds its own m's stored counts (mean, SE) and that m's birthday law."""
    directory = small[0] / "collisions"
    path, counts = directory / "polysemantic.csv", _stored_counts(directory)
    n, m = column(path, "n", int), column(path, "m", int)
    l1 = PARAMS["collisions"]["small"]["l1"][0]
    assert sorted(m) == sorted(k[1] for k in counts)
    for j, mj in enumerate(m):
        c = counts[(l1, mj)]
        assert column(path, "seeds", int)[j] == c.size
        assert column(path, "sim_mean")[j] == pytest.approx(c.mean(), rel=1e-9)
        assert column(path, "sim_se")[j] == pytest.approx(c.std(ddof=1) / np.sqrt(c.size), rel=1e-9)
    np.testing.assert_allclose(column(path, "birthday"), _birthday(n, m), rtol=1e-9)
    np.testing.assert_allclose(column(path, "n2_over_4m"), n * n / (4.0 * m), rtol=1e-9)


def test_curve_bands_are_the_stored_runs_percentiles(small):
    directory = small[0] / "curves"
    path, counts = directory / "bands.csv", _stored_counts(directory)
    l1, m = column(path, "l1"), column(path, "m", int)
    assert len(l1) == len(counts)
    for j, key in enumerate(zip(l1, m, strict=True)):
        c = counts[key]
        for col, q in (("p10", 10), ("p50", 50), ("p90", 90)):
            assert column(path, col)[j] == pytest.approx(np.percentile(c, q), rel=1e-9), (key, col)
        assert column(path, "mean")[j] == pytest.approx(c.mean(), rel=1e-9)
    np.testing.assert_allclose(column(path, "birthday"), _birthday(column(path, "n", int), m),
                               rtol=1e-9)
    n = column(path, "n", int)          # the exclusion law with every feature finished (c = 1)
    np.testing.assert_allclose(column(path, "exclusion_complete"), n * (n - 1) / (4 * m), rtol=1e-9)


def test_correlation_tables_are_the_stored_weights(small):
    """Heatmap counts and winner ranks recomputed from the stored W0, W with plain NumPy."""
    p = PARAMS["correlations"]["small"]
    n, m, seeds = p["n_features"], p["n_hidden"], p["seeds"]
    res = ip.open_sweep(small[0] / "correlations" / "store").result(0)
    W0, W = res["W0"].astype(np.float64), res["W"].astype(np.float64)
    assert W.shape == (seeds, n, m)
    heat = small[0] / "correlations" / "heatmap.csv"
    x0, x1, y0, y1 = (column(heat, c) for c in ("w0_lo", "w0_hi", "w_lo", "w_hi"))
    xs, ys = np.sqrt(m) * W0.ravel(), W.ravel()
    own = [int(np.sum((xs >= a) & (xs < b) & (ys >= c) & (ys < d)))
           for a, b, c, d in zip(x0, x1, y0, y1, strict=True)]
    np.testing.assert_array_equal(column(heat, "count", int), own)
    assert sum(own) == n * m * seeds                 # the bins cover every entry
    final = np.abs(W).argmax(axis=2)                 # (seeds, n)
    at_final = np.take_along_axis(np.abs(W0), final[..., None], axis=2)
    rank = (np.abs(W0) > at_final).sum(axis=2).ravel()
    ranks = small[0] / "correlations" / "winner_rank.csv"
    expected = np.bincount(rank)
    np.testing.assert_array_equal(column(ranks, "rank", int), np.arange(expected.size))
    np.testing.assert_array_equal(column(ranks, "count", int), expected)
    np.testing.assert_allclose(column(ranks, "fraction"), expected / rank.size, rtol=1e-9)


def test_superposition_grows_with_sparsity_and_turns_necessary(small):
    """Dense: exactly m = 5 features at one dimension each, nothing necessary; sparse (p ≤ 0.03):
    more features than neurons (by > 3 SE), fewer dimensions each, necessary sharing dominating."""
    path = small[0] / "superposition" / "by_p.csv"
    p, rep, rep_se = (column(path, c) for c in ("p", "represented_mean", "represented_se"))
    dims, nec, inc = (column(path, c) for c in ("dims_per_feature_mean", "necessary_mean",
                                                "incidental_mean"))
    assert p[0] == 1 and rep[0] == 5 and nec[0] == 0 and abs(dims[0] - 1) < 0.02
    sparse = p <= 0.03
    assert np.all(rep[sparse] > 5 + 3 * rep_se[sparse])
    assert np.all(dims[sparse] < 0.6) and np.all(nec[sparse] > inc[sparse])
    feats = small[0] / "superposition" / "features.csv"
    d, norm = column(feats, "dimensionality"), column(feats, "norm")
    assert np.all((d >= 0) & (d <= 1 + 1e-9))
    assert np.all(d[column(feats, "p") == 1][norm[column(feats, "p") == 1] > 0.5] > 0.95)


def test_cooccurrence_falls_from_the_one_hot_law_and_stays_incidental(small):
    """Rare features (smallest p): the band count within 3 SE (+0.5) of the one-hot birthday law;
    co-occurring features (p ≥ 0.1): no polysemantic neuron; m ≥ n: every one incidental."""
    path = small[0] / "cooccurrence" / "by_p.csv"
    p, band, se = column(path, "p"), column(path, "band_mean"), column(path, "band_se")
    birthday = column(path, "birthday")
    assert abs(band[0] - birthday[0]) <= 3 * se[0] + 0.5 and band[0] > 0
    assert np.all(band[p >= 0.1] == 0)
    share = column(path, "incidental_share")
    assert np.all(share[~np.isnan(share)] == 1)
    np.testing.assert_allclose(birthday, ip.analytic.expected_polysemantic(16, 32), rtol=1e-9)


def test_resume_on_finished_stores_trains_nothing_and_rewrites_the_same_csvs(small, monkeypatch):
    out = small[0]
    before = {name: (out / name).read_bytes() for name in EXPECTED_CSV}

    def no_training(*args, **kwargs):
        raise AssertionError("resume retrained a finished chunk")

    # the module, not the function `ip.sweep` that shadows its name in the package
    monkeypatch.setattr(importlib.import_module("incipoly.stores.chunks"), "train", no_training)
    rc, stdout, stderr = run_cli(["reproduce", "all", "--scale", "small", "--out", str(out),
                                  "--resume", "--no-progress"])
    assert rc == 0, stderr
    assert len(stdout.strip().splitlines()) == len(NAMES)
    assert {name: (out / name).read_bytes() for name in EXPECTED_CSV} == before
    result = experiments.collisions(out / "collisions" / "store", resume=True, progress=False)
    np.testing.assert_array_equal(result.tables["polysemantic"]["m"],
                                  column(out / "collisions" / "polysemantic.csv", "m", int))


def test_existing_store_without_resume_is_a_usage_error(small):
    rc, _, stderr = run_cli(["reproduce", "noise", "--out", str(small[0]), "--no-progress"])
    assert rc == 2
    assert "--resume" in stderr


def test_missing_matplotlib_names_the_install_hint(monkeypatch):
    """Plotting without matplotlib says how to install it; `reproduce` then writes its CSVs and
    skips the PNG (tests/test_failures.py::test_reproduce_writes_csvs_without_matplotlib)."""
    monkeypatch.setitem(sys.modules, "matplotlib", None)         # `import matplotlib` → ImportError
    with pytest.raises(ImportError, match=r"pip install 'incipoly\[plot\]'"):
        plot.require_matplotlib()
    assert not plot.has_matplotlib()


@pytest.mark.parametrize("argv", [["reproduce", "bogus"], ["reproduce"],
                                  ["reproduce", "all", "--scale", "huge"],
                                  ["reproduce", "noise", "--scale"]])
def test_bad_experiment_or_scale_exits_2(argv, tmp_path):
    rc, _, stderr = run_cli(argv + ["--out", str(tmp_path)])
    assert rc == 2
    assert "usage: incipoly reproduce" in stderr
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("name, scale, field", [("bogus", "small", "experiment"),
                                                ("noise", "huge", "scale")])
def test_library_rejects_bad_experiment_or_scale(name, scale, field, tmp_path):
    with pytest.raises(ValueError, match=field):
        experiments.reproduce(name, tmp_path, scale=scale)


def test_widths_train_only_the_chosen_m(tmp_path):
    rc, stdout, stderr = run_cli(["reproduce", "collisions", "--widths", "64,32", "--out",
                                  str(tmp_path), "--no-progress"])
    assert rc == 0, stderr
    path = tmp_path / "collisions" / "polysemantic.csv"
    np.testing.assert_array_equal(column(path, "m", int), [32, 64])
    assert "m=32…64 (2 widths)" in stdout


@pytest.mark.parametrize("argv, field", [
    (["reproduce", "noise", "--widths", "32"], "--widths applies to collisions and curves"),
    (["reproduce", "all", "--widths", "32"], "--widths applies to collisions and curves"),
    (["reproduce", "curves", "--widths", "32,x"], "widths must be a comma list"),
    (["reproduce", "curves", "--widths", "0,32"], "widths must be distinct integers >= 1"),
    (["reproduce", "collisions", "--widths", "32,32"], "widths must be distinct integers >= 1"),
])
def test_bad_widths_exit_2_naming_the_field(argv, field, tmp_path):
    rc, _, stderr = run_cli(argv + ["--out", str(tmp_path), "--no-progress"])
    assert rc == 2
    assert field in stderr
    assert not any(tmp_path.iterdir())
