"""Run.save / ip.load round trip, file layout, no pickle."""
import csv
import json

import numpy as np
import pytest

import incipoly as ip


def test_save_load_round_trip(tmp_path):
    cfg = ip.Config(n_features=4, n_hidden=6, steps=30, noise="bernoulli", noise_std=0.1)
    run = ip.train(cfg, seeds=[4, 8, 15], record=5, keep_weights=True, progress=False)
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


# --- ip.load verifies every file against config.json --------------------------------------------

def _saved(tmp_path):
    cfg = ip.Config(n_features=3, n_hidden=5, steps=10)
    return ip.train(cfg, seeds=[2, 5], record=3, progress=False).save(tmp_path / "run")


def _edit_meta(change):
    def edit(path):
        meta = json.loads((path / "config.json").read_text())
        change(meta)
        (path / "config.json").write_text(json.dumps(meta))
    return edit


def _edit_arrays(change):
    def edit(path):
        with np.load(path / "arrays.npz", allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        change(arrays)
        np.savez(path / "arrays.npz", **arrays)
    return edit


def _set(d, key, value):
    d[key] = value


def _nan_weight(arrays):
    arrays["W"] = arrays["W"].copy()
    arrays["W"][1, 2, 3] = np.nan


def _raw(text=None, data=None, name="config.json"):
    def edit(path):
        if text is not None:
            (path / name).write_text(text)
        else:
            (path / name).write_bytes(data((path / name).read_bytes()))
    return edit


CORRUPTIONS = {
    # name: (edit of the saved directory, file named in the error, field named in the error)
    "W shape contradicts config": (_edit_arrays(lambda a: _set(a, "W", a["W"][:, :, :4])),
                                   "arrays.npz", "W"),
    "W0 dtype": (_edit_arrays(lambda a: _set(a, "W0", a["W0"].astype(np.float64))),
                 "arrays.npz", "W0"),
    "NaN weight": (_edit_arrays(_nan_weight), "arrays.npz", "W"),
    "history array missing": (_edit_arrays(lambda a: a.pop("history_loss")),
                              "arrays.npz", "history_loss"),
    "history_step wrong end": (_edit_arrays(lambda a: _set(a, "history_step", a["history_step"] - 1)),
                               "arrays.npz", "history_step"),
    "history_active dtype": (_edit_arrays(lambda a: _set(a, "history_active",
                                                         a["history_active"].astype(float))),
                             "arrays.npz", "history_active"),
    "unknown array": (_edit_arrays(lambda a: _set(a, "extra", np.zeros(2))), "arrays.npz", "extra"),
    "seed count": (_edit_meta(lambda m: _set(m, "seeds", [2])), "config.json", "seeds"),
    "seeds not a list": (_edit_meta(lambda m: _set(m, "seeds", 2)), "config.json", "seeds"),
    "negative seed": (_edit_meta(lambda m: _set(m, "seeds", [2, -5])), "config.json", "seeds"),
    "format unknown": (_edit_meta(lambda m: _set(m, "format", 99)), "config.json", "format"),
    "format missing": (_edit_meta(lambda m: m.pop("format")), "config.json", "format"),
    "config field bad": (_edit_meta(lambda m: m["config"].update(n_features=-3)),
                         "config.json", "config"),
    "config field unknown": (_edit_meta(lambda m: m["config"].update(width=3)),
                             "config.json", "config"),
    "config not an object": (_edit_meta(lambda m: _set(m, "config", [1])), "config.json", "config"),
    "info not an object": (_edit_meta(lambda m: _set(m, "info", 3)), "config.json", "info"),
    "config.json not JSON": (_raw(text="{not json"), "config.json", "json"),
    "config.json a list": (_raw(text="[1, 2]"), "config.json", "json"),
    "arrays.npz empty": (_raw(text="", name="arrays.npz"), "arrays.npz", "arrays"),
    "arrays.npz truncated": (_raw(data=lambda b: b[: len(b) // 2], name="arrays.npz"),
                             "arrays.npz", "arrays"),
    "arrays.npz bit flip": (_raw(data=lambda b: b[:-900] + bytes([b[-900] ^ 0x10]) + b[-899:],
                                 name="arrays.npz"), "arrays.npz", "arrays"),
    "arrays.npz missing": (lambda path: (path / "arrays.npz").unlink(), "arrays.npz", "arrays"),
}


@pytest.mark.parametrize("case", sorted(CORRUPTIONS))
def test_load_rejects_corruption_naming_file_and_field(tmp_path, case):
    edit, filename, field = CORRUPTIONS[case]
    path = _saved(tmp_path)
    ip.load(path)                                        # intact before the edit
    edit(path)
    with pytest.raises(ip.StoreError) as info:
        ip.load(path)
    err = info.value
    assert isinstance(err, ValueError)
    assert err.path == path / filename and str(path / filename) in str(err)
    assert err.field == field and f": {field}: " in str(err)


def test_load_without_array_listing_still_requires_the_whole_history(tmp_path):
    """Runs saved before config.json listed its arrays: a partial history is still caught."""
    path = _saved(tmp_path)
    _edit_meta(lambda m: m.pop("arrays"))(path)
    assert ip.load(path).W.shape == (2, 3, 5)
    _edit_arrays(lambda a: a.pop("history_l4"))(path)
    with pytest.raises(ip.StoreError, match="history_l4: missing"):
        ip.load(path)


def test_save_leaves_no_temporary_files_and_cleans_up_on_failure(tmp_path):
    from incipoly.stores.files import atomic_write
    target = tmp_path / "x.json"

    def fail(f):
        f.write("partial")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(target, fail, text=True)
    assert list(tmp_path.iterdir()) == []
    atomic_write(target, lambda f: f.write("ok"), text=True)
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]
