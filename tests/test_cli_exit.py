"""One exit-status rule for every command (usage 2, failure 1, interrupted 130), every path
argument checked before work starts and named, and no raw warnings or numpy hints (issue 19,
items 5 and 6)."""
import importlib
import zipfile

import pytest

import incipoly as ip

from clitools import run_cli

TINY = ["--n-features", "4", "--n-hidden", "8", "--steps", "20", "--no-progress"]
GRID = 'n_features = 3\nn_hidden = 5\nsteps = 20\noptimizer = "sgd"\nlr = 0.02\n'


@pytest.fixture
def saved_run(tmp_path):
    return ip.train(ip.Config(n_features=4, n_hidden=8, steps=20), 2, progress=False).save(
        tmp_path / "run")


@pytest.fixture
def store(tmp_path):
    (tmp_path / "g.toml").write_text(GRID)
    return ip.sweep(ip.Config(n_features=3, n_hidden=5, steps=20, optimizer="sgd", lr=0.02), 4,
                    tmp_path / "store", chunk_seeds=2, progress=False).path


def test_help_epilog_states_the_rule(capsys):
    for command in ([], ["train"], ["compare"], ["reproduce"], ["sweep"], ["show"]):
        rc, out, _ = run_cli([*command, "--help"], capsys)
        text = " ".join(out.split())
        assert rc == 0 and "exit status: 0 success; 2 usage error" in text
        assert "1 failure" in text and "130 interrupted" in text


@pytest.mark.parametrize("argv", [
    ["train", "--lr", "-1"], ["train", "--bogus"], ["compare", "--seeds", "1"],
    ["reproduce", "nosuch"], ["reproduce", "sparsity", "--widths", "x"], ["sweep"],
    ["show", "/nonexistent/run"],
])
def test_usage_errors_exit_2(argv, capsys):
    rc, _, err = run_cli(argv, capsys)
    assert rc == 2 and err.strip()


def test_file_errors_exit_1_for_show_and_summary(saved_run, store, capsys):
    (saved_run / "arrays.npz").write_bytes(b"garbage, not an archive")
    rc, out, err = run_cli(["show", str(saved_run)], capsys)
    assert rc == 1 and out == "" and "not an npz archive" in err
    assert "pickle" not in err                     # numpy's hint is not passed through
    chunk = sorted((store / "chunks").glob("*.npz"))[0]
    chunk.write_bytes(chunk.read_bytes()[:100])     # truncated
    rc, _, err = run_cli(["sweep", "--summary", str(store)], capsys)
    assert rc == 1 and chunk.name in err
    (store / "sweep.json").write_text("{not json")
    rc, _, err = run_cli(["sweep", "--summary", str(store)], capsys)
    assert rc == 1 and "--summary" in err


def test_divergence_exits_1_and_advises_the_cause(tmp_path, capsys):
    for flags, advice in ((["--optimizer", "sgd", "--weight-decay", "1e6"], "lower weight_decay"),
                          (["--l1", "1e300"], "lower l1"),
                          (["--optimizer", "sgd", "--lr", "10", "--l1", "0"], "lower lr")):
        rc, _, err = run_cli(["train", *TINY, *flags, "--out", str(tmp_path / "d")], capsys)
        assert rc == 1 and advice in err, err
        assert (advice == "lower lr") == ("lower lr" in err)


def test_huge_seed_count_is_refused_up_front_with_the_sizes(capsys):
    rc, _, err = run_cli(["train", "--seeds", "100000000", "--no-progress"], capsys)
    assert rc == 1
    assert "--seeds 100000000" in err and "GiB" in err and "weights" in err


@pytest.mark.parametrize("argv, flag", [
    (["train", *TINY, "--out", "/proc/forbidden"], "--out /proc/forbidden is not writable"),
    (["compare", "--out", "/proc/forbidden"], "--out /proc/forbidden is not writable"),
    (["reproduce", "sparsity", "--out", "/proc/forbidden"], "--out /proc/forbidden is not writable"),
    (["sweep", "G", "--store", "/proc/forbidden"], "--store /proc/forbidden is not writable"),
    (["sweep", "/nonexistent.toml", "--store", "S"], "GRID_FILE /nonexistent.toml does not exist"),
    (["sweep", "--summary", "/nonexistent"], "--summary /nonexistent does not exist"),
    (["show", "RUN", "--png", "/proc/forbidden/x.png"], "--png /proc/forbidden/x.png"),
    (["show", "RUN", "--instance", "2"], "--instance must be an integer in [0, 1]"),
    (["show", "RUN", "--instance", "-1"], "--instance must be an integer in [0, 1]"),
])
def test_path_and_index_arguments_checked_before_work(argv, flag, tmp_path, saved_run, capsys,
                                                      monkeypatch):
    (tmp_path / "G").write_text(GRID)
    def must_not_train(*args, **kwargs):
        raise AssertionError("trained before checking the arguments")
    for where in ("incipoly.training", "incipoly.cli.train", "incipoly.stores.chunks"):
        monkeypatch.setattr(importlib.import_module(where), "train", must_not_train)
    argv = [str(tmp_path / a) if a in ("G", "S") else str(saved_run) if a == "RUN" else a
            for a in argv]
    rc, out, err = run_cli(argv, capsys)
    assert rc == 2 and flag in err, err
    assert out == ""                               # nothing printed before the error


def test_read_only_store_is_refused_before_training(tmp_path, capsys, monkeypatch):
    import tempfile
    (tmp_path / "G").write_text(GRID)
    real = tempfile.TemporaryFile

    def read_only(*args, dir=None, **kwargs):
        if str(dir).startswith(str(tmp_path / "ro")):
            raise OSError(30, "Read-only file system")
        return real(*args, dir=dir, **kwargs)
    (tmp_path / "ro").mkdir()
    monkeypatch.setattr(tempfile, "TemporaryFile", read_only)
    rc, _, err = run_cli(["sweep", str(tmp_path / "G"), "--store", str(tmp_path / "ro" / "s"),
                          "--no-progress"], capsys)
    assert rc == 2 and "--store" in err and "Read-only file system" in err
    assert not (tmp_path / "ro" / "s").exists()


def test_corrupt_chunk_on_resume_is_one_clean_warning_line(tmp_path, capsys):
    (tmp_path / "G").write_text(GRID)
    argv = ["sweep", str(tmp_path / "G"), "--seeds", "4", "--chunk-seeds", "2", "--store",
            str(tmp_path / "s"), "--no-progress"]
    assert run_cli(argv, capsys)[0] == 0
    chunk = sorted((tmp_path / "s" / "chunks").glob("*.npz"))[0]
    with zipfile.ZipFile(chunk, "a") as z:          # a foreign array: fails verification
        z.writestr("intruder.npy", b"")
    rc, _, err = run_cli([*argv, "--resume"], capsys)
    assert rc == 0
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert lines and all(ln.startswith("warning: ") for ln in lines), err
    assert "UserWarning" not in err and ".py:" not in err


def test_sweep_names_a_missing_store_argument():
    with pytest.raises(TypeError, match="store must be a directory path"):
        ip.sweep(ip.Config(n_features=2, n_hidden=2, steps=1), 2, None)
