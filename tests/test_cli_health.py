"""``train`` and ``show`` print the in-band fraction and a ``warning:`` line, saying what to
change, when training did not finish or features died (issue 19, item 3)."""
import re

from clitools import run_cli

SMALL = ["--n-features", "8", "--n-hidden", "16", "--seeds", "3", "--no-progress"]


def in_band(out):
    return float(re.search(r"features in band \[0\.8, 1\.2\] \(fraction\) +(\S+)", out).group(1))


def test_a_finished_run_reaches_the_band_without_warning(tmp_path, capsys):
    rc, out, err = run_cli(["train", *SMALL, "--steps", "3000", "--lr", "0.01",
                            "--out", str(tmp_path / "r")], capsys)
    assert rc == 0, err
    assert in_band(out) >= 0.9 and "warning:" not in out + err


def test_dead_features_warn_and_advise_a_lower_lr(tmp_path, capsys):
    rc, out, _ = run_cli(["train", *SMALL, "--steps", "100", "--lr", "10",
                          "--out", str(tmp_path / "r")], capsys)
    assert rc == 0
    warnings = [ln for ln in out.splitlines() if ln.startswith("warning:")]
    assert any("dead" in w and "lower --lr (now 10)" in w for w in warnings), out
    assert in_band(out) < 0.9
    rc, shown, _ = run_cli(["show", str(tmp_path / "r"), "--png", str(tmp_path / "r.png")], capsys)
    assert rc == 0 and [ln for ln in shown.splitlines() if ln.startswith("warning:")] == warnings


def test_unfinished_training_warns_and_advises_more_steps(tmp_path, capsys):
    rc, out, _ = run_cli(["train", *SMALL, "--steps", "30", "--out", str(tmp_path / "r")], capsys)
    assert rc == 0
    assert in_band(out) < 0.9
    assert any("raise --steps (now 30)" in ln for ln in out.splitlines()
               if ln.startswith("warning:")), out
    assert not any("dead" in ln for ln in out.splitlines() if ln.startswith("warning:"))
