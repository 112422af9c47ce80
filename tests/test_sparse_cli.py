"""``incipoly train`` with the sparse / untied / bias flags."""
import numpy as np
import pytest

import incipoly as ip
from incipoly.cli import build_parser, config_from_args

from clitools import run_cli

TINY = ["--n-features", "6", "--n-hidden", "3", "--steps", "20", "--no-progress", "--seeds", "2"]


def test_sparse_flags_build_the_config():
    args = build_parser().parse_args(
        ["train", "--inputs", "sparse", "--feature-prob", "0.05", "--batch-size", "64",
         "--importance", "0.7", "--correlation", "anticorrelated", "--bias", "--no-tied",
         "--noise-scope", "example"])
    cfg = config_from_args(args)
    assert (cfg.inputs, cfg.feature_prob, cfg.batch_size, cfg.importance, cfg.correlation,
            cfg.bias, cfg.tied, cfg.noise_scope) == ("sparse", 0.05, 64, 0.7, "anticorrelated",
                                                     True, False, "example")
    plain = config_from_args(build_parser().parse_args(["train", "--no-bias", "--tied"]))
    assert plain.is_default_model


def test_train_sparse_saves_decoder_and_bias(tmp_path, capsys):
    out = tmp_path / "run"
    rc, stdout, err = run_cli(["train", *TINY, "--inputs", "sparse", "--feature-prob", "0.2",
                               "--batch-size", "16", "--importance", "0.8", "--bias", "--no-tied",
                               "--noise", "gaussian", "--noise-std", "0.05", "--noise-scope",
                               "example", "--dtype", "float64", "--out", str(out)], capsys)
    assert rc == 0, err
    assert "inputs=sparse" in stdout and "tied=False" in stdout
    run = ip.load(out)
    assert run.config.inputs == "sparse" and not run.config.tied and run.config.bias
    assert run.W_dec.shape == (2, 6, 3) and run.b.shape == (2, 6)
    again = ip.train(run.config, seeds=2, progress=False)
    np.testing.assert_array_equal(again.W_dec, run.W_dec)


@pytest.mark.parametrize("flags,field", [
    (["--inputs", "dense"], "inputs"),
    (["--inputs", "sparse", "--feature-prob", "0"], "feature_prob"),
    (["--inputs", "sparse", "--feature-prob", "1.5"], "feature_prob"),
    (["--inputs", "sparse", "--batch-size", "0"], "batch_size"),
    (["--importance", "0"], "importance"),
    (["--correlation", "pairs"], "correlation"),
    (["--noise-scope", "batch"], "--noise-scope"),
    (["--feature-prob", "0.05"], "feature_prob"),            # one-hot refuses sparse-only fields
    (["--inputs", "sparse", "--feature-prob", "0.7", "--correlation", "anticorrelated"],
     "feature_prob"),
])
def test_bad_values_exit_2_naming_the_field(flags, field, tmp_path, capsys):
    rc, out, err = run_cli(["train", *TINY, *flags, "--out", str(tmp_path / "r")], capsys)
    assert rc == 2
    assert "error" in err and field in err
    assert "Traceback" not in err
    assert not (tmp_path / "r").exists()
