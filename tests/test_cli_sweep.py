"""``incipoly sweep``: grid file → store → summary table and CSV; bad grid files exit 2."""
import csv
import json

import pytest

import incipoly as ip
from incipoly.stores.grids import read_grid

from clitools import run_cli

GRID_TOML = """
n_features = 3
n_hidden = [5, 8]
steps = 200
optimizer = "sgd"
lr = [0.02, 0.05]
l1 = 0.001
"""
CONFIGS = [ip.Config(n_features=3, n_hidden=m, steps=200, optimizer="sgd", lr=lr, l1=1e-3)
           for m in (5, 8) for lr in (0.02, 0.05)]


def test_grid_expands_to_the_cartesian_product_in_field_order(tmp_path):
    (tmp_path / "g.toml").write_text(GRID_TOML)
    assert read_grid(tmp_path / "g.toml") == CONFIGS
    (tmp_path / "g.json").write_text(json.dumps({"n_features": 3, "n_hidden": [5, 8], "steps": 200,
                                                 "optimizer": "sgd", "lr": [0.02, 0.05], "l1": 1e-3}))
    assert read_grid(tmp_path / "g.json") == CONFIGS


def test_example_grid_file_is_valid():
    from pathlib import Path
    configs = read_grid(Path(__file__).parent.parent / "examples" / "grid.toml")
    assert len(configs) == 6 and {c.n_hidden for c in configs} == {64, 128, 256}


def test_sweep_then_summary_round_trip(tmp_path, capsys):
    (tmp_path / "g.toml").write_text(GRID_TOML)
    store = tmp_path / "store"
    rc, out, err = run_cli(["sweep", str(tmp_path / "g.toml"), "--seeds", "5", "--store",
                            str(store), "--chunk-seeds", "2", "--record", "3", "--no-progress"],
                           capsys)
    assert rc == 0, err
    rc2, out2, err2 = run_cli(["sweep", "--summary", str(store)], capsys)
    assert rc2 == 0, err2
    assert out2 == out                                 # the same table and CSV after the sweep
    ref = ip.sweep(CONFIGS, 5, tmp_path / "ref", chunk_seeds=2, record=3, progress=False)
    with open(store / "summary.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 4
    for c, row in enumerate(rows):
        res = ref.result(c)
        assert ip.Config.from_dict({k: type(getattr(CONFIGS[c], k))(row[k])
                                    for k in CONFIGS[c].to_dict()}) == CONFIGS[c]
        assert int(row["seeds"]) == 5
        for key in ("polysemantic", "init_same_sign_pairs", "winner_is_initial_argmax", "final_loss"):
            mean, se = ip.metrics.mean_se(res[key])
            assert float(row[f"{key}_mean"]) == pytest.approx(mean, rel=1e-9, abs=1e-12)
            assert float(row[f"{key}_se"]) == pytest.approx(se, rel=1e-9, abs=1e-12)
    lines = out.splitlines()
    assert lines[0].startswith("fixed: n_features=3") and "steps=200" in lines[0]
    assert lines[1].split()[:6] == ["config", "n_hidden", "lr", "seeds", "polysemantic",
                                    "init_same_sign_pairs"]
    mean, se = ip.metrics.mean_se(ref.result(3)["polysemantic"])
    assert f"{mean:.4g} ± {se:.2g}" in lines[5]
    assert lines[-1] == f"saved {store / 'summary.csv'}"


def test_resume_trains_nothing_new(tmp_path, capsys):
    (tmp_path / "g.toml").write_text(GRID_TOML)
    argv = ["sweep", str(tmp_path / "g.toml"), "--seeds", "2", "--store", str(tmp_path / "s"),
            "--no-progress"]
    assert run_cli(argv, capsys)[0] == 0
    rc, _, err = run_cli(argv, capsys)
    assert rc == 2 and "--resume" in err
    assert run_cli(argv + ["--resume"], capsys)[0] == 0
    log = (tmp_path / "s" / "log.jsonl").read_text().splitlines()
    assert len(log) == 4                                  # one chunk per config, trained once


BAD_GRIDS = [
    ("g.toml", "n_features = 3\nwidth = [4]\n", "unknown field 'width'"),
    ("g.toml", "n_hidden = []\n", "field n_hidden: empty list"),
    ("g.toml", "n_hidden = [4, 0]\n", "field n_hidden: n_hidden must be an integer in [1, "),
    ("g.toml", "n_hidden = 2.5\n", "field n_hidden"),
    ("g.toml", "optimizer = \"adam\"\n", "field optimizer: optimizer must be one of"),
    ("g.toml", "lr = [[0.1]]\n", "field lr: values must be scalars"),
    ("g.toml", "lr = -1\n", "field lr: lr must be a finite number > 0"),
    ("g.toml", "steps = true\n", "field steps"),
    ("g.toml", "n_hidden = [4\n", "not valid TOML"),
    ("g.json", "{\"noise\": [\"none\", \"pink\"]}", "field noise: noise must be one of"),
    ("g.json", "[1, 2]", "must hold a table of Config fields"),
    ("g.json", "{\"n_hidden\": ", "not valid JSON"),
]


@pytest.mark.parametrize("name, text, message", BAD_GRIDS, ids=[b[2][:30] for b in BAD_GRIDS])
def test_bad_grid_file_exits_2_naming_the_field(tmp_path, capsys, name, text, message):
    (tmp_path / name).write_text(text)
    rc, out, err = run_cli(["sweep", str(tmp_path / name), "--store", str(tmp_path / "s")], capsys)
    assert rc == 2
    assert err.startswith("incipoly: error: grid file ") and message in err
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize("argv, message", [
    (["sweep"], "either GRID_FILE"),
    (["sweep", "G", "--summary", "S"], "either GRID_FILE"),
    (["sweep", "G"], "--store DIR is required"),
    (["sweep", "missing.toml", "--store", "S"], "GRID_FILE"),
    (["sweep", "missing.toml", "--store", "S"], "does not exist"),
    (["sweep", "--summary", "nowhere"], "--summary"),
    (["sweep", "--summary", "nowhere"], "does not exist"),
    (["sweep", "--summary", "G"], "is not a directory"),
    (["sweep", "G", "--store", "S", "--chunk-seeds", "0"], "chunk_seeds must be an integer >= 1"),
    (["sweep", "G", "--store", "S", "--record", "1"], "record must be an integer >= 2"),
    (["sweep", "G", "--store", "S", "--seeds", "x"], "seeds must be"),
])
def test_bad_sweep_command_exits_2(tmp_path, capsys, argv, message):
    (tmp_path / "G").write_text("n_features = 3\nsteps = 5\n")
    argv = [str(tmp_path / a) if a in ("G", "S", "missing.toml", "nowhere") else a for a in argv]
    rc, _, err = run_cli(argv, capsys)
    assert rc == 2 and message in err
    assert not (tmp_path / "S").exists()
