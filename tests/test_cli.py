"""The ``incipoly`` command line: in process through ``main(argv)``, once through ``python -m``."""
import dataclasses
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import incipoly as ip
from incipoly.cli import TRAIN_DEFAULTS, build_parser, config_from_args, main, parse_seeds
from incipoly.config import DEFAULT_RECORD, DEFAULT_SEEDS

from clitools import run_cli

TINY = ["--n-features", "4", "--n-hidden", "8", "--steps", "50", "--no-progress"]



def table_row(out, label):
    """(mean, SE) printed on the row starting with ``label``; SE is None for "n/a"."""
    line = next(ln for ln in out.splitlines() if ln.startswith(label))
    mean, se = re.search(r"(\S+) ± +(\S+)$", line).groups()
    return float(mean), None if se == "n/a" else float(se)


def test_version(capsys):
    rc, out, _ = run_cli(["--version"], capsys)
    assert rc == 0
    assert out.strip() == f"incipoly {ip.__version__}"


def test_train_saves_run_and_prints_table(tmp_path, capsys):
    out_dir = tmp_path / "run"
    rc, out, err = run_cli(["train", *TINY, "--seeds", "3", "--lr", "0.01", "--out", str(out_dir)],
                           capsys)
    assert rc == 0, err
    for name in ("config.json", "arrays.npz", "summary.csv"):
        assert (out_dir / name).is_file()
    assert out.startswith("config: n_features=4 n_hidden=8 steps=50 optimizer=adamw lr=0.01")
    assert "seeds: 3 (0-2)" in out
    assert f"saved to {out_dir}" in out

    cfg = ip.Config(n_features=4, n_hidden=8, steps=50, lr=0.01, l1=1e-3)
    loaded = ip.load(out_dir)
    assert loaded.config == cfg
    np.testing.assert_array_equal(loaded.seeds, [0, 1, 2])
    np.testing.assert_array_equal(loaded.W, ip.train(cfg, seeds=3, progress=False).W)
    summary = loaded.summary()
    for label, key in [("polysemantic neurons", "polysemantic"),
                       ("initial same-sign collision pairs", "init_same_sign_pairs"),
                       ("initial mixed-sign argmax neurons", "init_mixed_neurons"),
                       ("features won by initial argmax", "winner_is_initial_argmax"),
                       ("final loss", "final_loss")]:
        x = summary[key].astype(float)
        mean, se = table_row(out, label)
        assert mean == pytest.approx(x.mean(), rel=1e-3, abs=1e-12)
        assert se == pytest.approx(x.std(ddof=1) / np.sqrt(3), rel=1e-2, abs=1e-12)


def test_seed_list_single_seed_and_snapshots(tmp_path, capsys):
    rc, out, err = run_cli(["train", *TINY, "--seeds", "7-7", "--record", "5", "--snapshots",
                            "--out", str(tmp_path / "a")], capsys)
    assert rc == 0, err
    assert table_row(out, "final loss")[1] is None          # SE is n/a for one seed
    single = ip.load(tmp_path / "a")
    np.testing.assert_array_equal(single.seeds, [7])
    assert single.history["W"].shape == (5, 1, 4, 8)
    rc, _, err = run_cli(["train", *TINY, "--seeds", "3,7,9", "--out", str(tmp_path / "b")], capsys)
    assert rc == 0, err
    np.testing.assert_array_equal(ip.load(tmp_path / "b").seeds, [3, 7, 9])
    assert "W" not in ip.load(tmp_path / "b").history


def test_parse_seeds():
    assert list(parse_seeds("4")) == [0, 1, 2, 3]
    assert list(parse_seeds("3,7,9")) == [3, 7, 9]
    assert list(parse_seeds("2-5")) == [2, 3, 4, 5]
    assert len(parse_seeds("100000000")) == 10**8        # a range: nothing allocated
    for bad in ("abc", "0", "-2", "5-2", "1,x", ""):
        with pytest.raises(ValueError, match="seeds"):
            parse_seeds(bad)


def test_default_out_is_a_fresh_directory(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    saved = []
    for _ in range(2):
        rc, out, err = run_cli(["train", *TINY, "--seeds", "1"], capsys)
        assert rc == 0, err
        saved.append(re.search(r"saved to (\S+)", out).group(1))
    assert saved[0] != saved[1]
    for path in saved:
        assert path.startswith(os.path.join("runs", "train-"))
        assert (tmp_path / path / "config.json").is_file()


@pytest.mark.parametrize("flags, field", [
    (["--n-features", "0"], "n_features"),
    (["--n-hidden", "0"], "n_hidden"),
    (["--n-hidden", "2.5"], "n-hidden"),
    (["--steps", "-1"], "steps"),
    (["--optimizer", "foo"], "optimizer"),
    (["--lr", "-1"], "lr"),
    (["--lr", "0"], "lr"),
    (["--lr", "nan"], "lr"),
    (["--l1", "-1"], "l1"),
    (["--weight-decay", "inf"], "weight_decay"),
    (["--noise", "foo"], "noise"),
    (["--noise-std", "-0.5"], "noise_std"),
    (["--init", "foo"], "init"),
    (["--dtype", "float16"], "dtype"),
    (["--seeds", "abc"], "seeds"),
    (["--seeds", "1,1"], "seeds"),
    (["--record", "1"], "record"),
])
def test_bad_values_exit_2_naming_the_field(flags, field, tmp_path, capsys):
    rc, out, err = run_cli(["train", *TINY, *flags, "--out", str(tmp_path / "r")], capsys)
    assert rc == 2
    assert "error" in err and field in err
    assert "Traceback" not in err
    assert not (tmp_path / "r").exists()


def test_out_that_is_a_file_exits_2(tmp_path, capsys):
    target = tmp_path / "file"
    target.write_text("")
    rc, _, err = run_cli(["train", *TINY, "--out", str(target)], capsys)
    assert rc == 2 and "out" in err and "not a directory" in err


def test_divergence_exits_1_without_saving(tmp_path, capsys):
    rc, out, err = run_cli(["train", *TINY, "--optimizer", "sgd", "--lr", "100", "--seeds", "2",
                            "--out", str(tmp_path / "r")], capsys)
    assert rc == 1
    assert err.startswith("incipoly: error: training diverged")
    assert "Traceback" not in err
    assert not (tmp_path / "r").exists()


def test_train_help_lists_every_config_field_with_defaults(capsys):
    rc, out, _ = run_cli(["train", "--help"], capsys)
    assert rc == 0
    for f in dataclasses.fields(ip.Config):
        assert "--" + f.name.replace("_", "-") in out
    for flag in ("--seeds", "--out", "--record", "--keep-weights", "--snapshots", "--no-progress"):
        assert flag in out
    assert out.count("default") >= len(dataclasses.fields(ip.Config)) + 3   # + seeds, out, record
    assert "(default: None)" not in out and "(default: False)" not in out
    assert "torch's default for the optimizer" in out


def test_defaults_build_the_documented_config():
    args = build_parser().parse_args(["train"])
    assert config_from_args(args) == TRAIN_DEFAULTS
    assert list(parse_seeds(args.seeds)) == list(range(DEFAULT_SEEDS)) == list(range(16))
    assert args.record == DEFAULT_RECORD == 32


def test_no_command_is_a_usage_error(capsys):
    rc, _, err = run_cli([], capsys)
    assert rc == 2 and "COMMAND" in err


def test_python_m_entry_point(tmp_path):
    """The real entry point, in a fresh process: one good run and one usage error."""
    cmd = [sys.executable, "-m", "incipoly", "train", *TINY, "--seeds", "2"]
    ok = subprocess.run([*cmd, "--out", str(tmp_path / "r")], cwd=tmp_path, capture_output=True,
                        text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert "polysemantic neurons" in ok.stdout and "saved to" in ok.stdout
    assert (tmp_path / "r" / "arrays.npz").is_file()
    bad = subprocess.run([*cmd, "--lr", "nan"], cwd=tmp_path, capture_output=True, text=True,
                         timeout=120)
    assert bad.returncode == 2
    assert bad.stderr.startswith("incipoly: error: lr must be")
    assert "Traceback" not in bad.stderr


def test_compare_writes_table_csv_and_plot(tmp_path, capsys):
    pytest.importorskip("matplotlib", reason="compare --plot draws with the [plot] extra")
    import csv

    from incipoly.compare import COLUMNS
    out = tmp_path / "cmp"
    assert main(["compare", "--n", "4", "--ratios", "1", "2", "--steps", "200", "--seeds", "3",
                 "--out", str(out), "--plot", "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "birthday" in text and "cascade" in text and "saved" in text
    rows = list(csv.DictReader(open(out / "compare.csv")))
    assert len(rows) == 4 and list(rows[0]) == list(COLUMNS)           # 2 ratios × 2 optimizers
    assert {r["optimizer"] for r in rows} == {"adamw", "gd-prox"}
    assert (out / "compare.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("argv,field", [(["--n", "0"], "n_features"), (["--ratios", "0.01"], "ratio"),
                                        (["--lr", "-1"], "lr"), (["--seeds", "x"], "seeds")])
def test_compare_bad_values_exit_2(argv, field, capsys):
    assert main(["compare", "--no-progress", *argv]) == 2
    err = capsys.readouterr().err
    assert field in err and "Traceback" not in err


def test_help_texts_are_complete(capsys):
    """reproduce lists every experiment with its whole description and the right count;
    compare names the exclusion law and prints no "(default: None)" after a stated default."""
    from incipoly.experiments import EXPERIMENTS
    rc, out, _ = run_cli(["reproduce", "--help"], capsys)
    text = " ".join(out.split())
    assert rc == 0 and f"The {len(EXPERIMENTS)} experiments" in text
    assert f"finishes all {len(EXPERIMENTS)}" in text and "all five" not in text
    for fn in EXPERIMENTS.values():
        assert " ".join(fn.__doc__.split("\n\n")[0].split()) in text
    rc, out, _ = run_cli(["compare", "--help"], capsys)
    text = " ".join(out.split())
    assert rc == 0 and "exclusion law" in text
    assert "(default: None)" not in out and "(default: False)" not in out
    assert "default: per optimizer (adamw 0.001" in text


def test_first_seconds_say_what_happens_and_the_bar_ends_its_line(tmp_path, capsys):
    rc, _, err = run_cli(["train", "--n-features", "4", "--n-hidden", "8", "--steps", "50",
                          "--out", str(tmp_path / "t")], capsys)
    assert rc == 0 and "50/50" in err and err.endswith("\n")
    rc, _, err = run_cli(["compare", "--n", "3", "--ratios", "1", "2", "--optimizers", "sgd",
                          "--steps", "20", "--seeds", "2", "--out", str(tmp_path / "c")], capsys)
    assert rc == 0
    assert "cell 1/2: n=3 m=3 sgd" in err and "cell 2/2: n=3 m=6 sgd" in err
    assert err.index("cell 1/2") < err.index("cell 2/2")
