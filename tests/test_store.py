"""Run.save / ip.load round trip, file layout, no pickle."""
import csv
import json

import numpy as np

import incipoly as ip


def test_save_load_round_trip(tmp_path):
    cfg = ip.Config(n_features=4, n_hidden=6, steps=30, noise="bernoulli", noise_std=0.1)
    run = ip.train(cfg, seeds=[4, 8, 15], record=5, snapshots=True, progress=False)
    out = run.save(tmp_path / "run")
    assert sorted(p.name for p in out.iterdir()) == ["arrays.npz", "config.json", "summary.csv"]
    meta = json.loads((out / "config.json").read_text())
    assert meta["seeds"] == [4, 8, 15] and set(meta["versions"]) == {"incipoly", "numba", "numpy"}
    back = ip.load(out)
    assert back.config == cfg
    np.testing.assert_array_equal(back.seeds, run.seeds)
    np.testing.assert_array_equal(back.W, run.W)
    np.testing.assert_array_equal(back.W0, run.W0)
    assert set(back.history) == set(run.history)
    for k in run.history:
        np.testing.assert_array_equal(back.history[k], run.history[k])
    rows = list(csv.DictReader(open(out / "summary.csv")))
    assert [int(r["seed"]) for r in rows] == [4, 8, 15]
    assert [int(r["polysemantic"]) for r in rows] == list(ip.metrics.polysemantic_neurons(run.W))
    with np.load(out / "arrays.npz", allow_pickle=False) as z:   # loads without pickle
        assert "W" in z.files


def test_load_missing_directory_is_clear(tmp_path):
    try:
        ip.load(tmp_path / "nope")
    except FileNotFoundError as e:
        assert "config.json" in str(e)
    else:
        raise AssertionError("load of a missing run did not raise")
