"""Ctrl-C in every interruptible command: exit 130, what was kept, the exact command that resumes;
and resuming with that command trains only what was missing (issue 19, item 1 and 2)."""
import importlib
import shlex

import pytest

from clitools import run_cli

GRID_TOML = 'n_features = 3\nn_hidden = [5, 8]\nsteps = 30\noptimizer = "sgd"\nlr = 0.02\n'
COMPARE = ["compare", "--n", "3", "--ratios", "1", "2", "--optimizers", "sgd", "--steps", "20",
           "--seeds", "2", "--no-progress"]


def _interrupt_on_call(monkeypatch, module, name, call):
    """Make ``module.name`` raise KeyboardInterrupt on its ``call``-th call (1-based)."""
    original, calls = getattr(module, name), []

    def wrapper(*args, **kwargs):
        calls.append(1)
        if len(calls) == call:
            raise KeyboardInterrupt
        return original(*args, **kwargs)
    monkeypatch.setattr(module, name, wrapper)
    return calls


def _resume_argv(err):
    """The argument list of the ``resume with: incipoly …`` command printed on stderr."""
    line = err.split("resume with: ", 1)[1].strip()
    argv = shlex.split(line)
    assert argv[0] == "incipoly"
    return argv[1:]


def test_sweep_interrupted_keeps_chunks_and_resumes(tmp_path, capsys, monkeypatch):
    sweep = importlib.import_module("incipoly.stores.sweeps")
    grid = tmp_path / "g.toml"
    grid.write_text(GRID_TOML)
    store = tmp_path / "store"
    argv = ["sweep", str(grid), "--seeds", "4", "--chunk-seeds", "2", "--store", str(store),
            "--no-progress"]
    _interrupt_on_call(monkeypatch, sweep, "train_chunk", 3)
    rc, _, err = run_cli(argv, capsys)
    assert rc == 130
    assert "interrupted" in err and "2 of 4 chunks are finished and kept in" in err
    assert "nothing was saved" not in err
    resume = _resume_argv(err)
    assert resume == [*argv, "--resume"]
    monkeypatch.undo()
    before = {p.name: p.stat().st_mtime_ns for p in (store / "chunks").glob("*.npz")}
    assert len(before) == 2
    rc, out, err = run_cli(resume, capsys)
    assert rc == 0, err
    after = {p.name: p.stat().st_mtime_ns for p in (store / "chunks").glob("*.npz")}
    assert len(after) == 4 and all(after[k] == v for k, v in before.items())


def test_compare_interrupted_keeps_cells_and_resumes(tmp_path, capsys, monkeypatch):
    compare = importlib.import_module("incipoly.compare")
    out_dir = tmp_path / "cmp"
    rc, full, err = run_cli([*COMPARE, "--out", str(tmp_path / "whole")], capsys)
    assert rc == 0, err
    _interrupt_on_call(monkeypatch, compare, "evaluate", 2)
    rc, _, err = run_cli([*COMPARE, "--out", str(out_dir)], capsys)
    assert rc == 130
    assert "2 of 2 cells are finished" in err and str(out_dir / "store") in err
    resume = _resume_argv(err)
    assert resume == [*COMPARE, "--out", str(out_dir), "--resume"]
    monkeypatch.undo()
    chunks = sorted((out_dir / "store").rglob("chunks/*.npz"))
    before = [p.stat().st_mtime_ns for p in chunks]
    rc, out, err = run_cli(resume, capsys)
    assert rc == 0, err
    assert [p.stat().st_mtime_ns for p in chunks] == before          # nothing retrained
    table = [ln for ln in out.splitlines() if ln.strip().startswith("3 ")]
    assert table == [ln for ln in full.splitlines() if ln.strip().startswith("3 ")]
    assert len(table) == 2


def test_compare_refuses_a_used_out_without_resume(tmp_path, capsys):
    out_dir = tmp_path / "cmp"
    assert run_cli([*COMPARE, "--out", str(out_dir)], capsys)[0] == 0
    rc, _, err = run_cli([*COMPARE, "--out", str(out_dir)], capsys)
    assert rc == 2 and "--out" in err and "--resume" in err
    rc, _, err = run_cli([*COMPARE, "--out", str(tmp_path / "new"), "--resume"], capsys)
    assert rc == 2 and "holds no compare" in err


@pytest.mark.parametrize("command", ["train", "reproduce"])
def test_ctrl_c_names_what_was_kept_and_the_command(command, tmp_path, capsys, monkeypatch):
    import incipoly.cli.reproduce
    import incipoly.cli.train

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(incipoly.cli.train, "train", interrupt)
    monkeypatch.setattr(incipoly.cli.reproduce, "reproduce", interrupt)
    out_dir = str(tmp_path / "o")
    argv = {"train": ["train", "--n-features", "4", "--n-hidden", "8", "--steps", "5",
                      "--no-progress", "--out", out_dir],
            "reproduce": ["reproduce", "sparsity", "--no-progress", "--out", out_dir]}[command]
    rc, _, err = run_cli(argv, capsys)
    assert rc == 130 and "interrupted" in err
    if command == "reproduce":
        assert str(tmp_path / "o" / "sparsity" / "store") in err
        assert _resume_argv(err) == [*argv, "--resume"]
    else:
        assert "nothing was kept" in err
        assert err.split("start again with: ")[1].split() == ["incipoly", *argv]
