"""Resumable sweep store: SIGKILL mid-run, resume, and get the uninterrupted result bit for bit."""
import importlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import incipoly as ip
from incipoly.stores.sweep_store import POLL_S

GRID = [ip.Config(n_features=6, n_hidden=12, steps=20000, optimizer="sgd", lr=0.02, l1=0.0,
                  noise="bernoulli", noise_std=0.1),
        ip.Config(n_features=5, n_hidden=9, steps=20000, lr=1e-2)]
SEEDS = [0, 1, 2, 3, 4, 5]

CHILD = """
import sys, incipoly as ip
from test_sweep import GRID, SEEDS
ip.sweep(GRID, SEEDS, sys.argv[1], chunk_seeds=1, keep_weights=True, progress=False)
"""


def chunk_files(path):
    return sorted(p.name for p in (Path(path) / "chunks").iterdir())


def load_all(path):
    """Every chunk's arrays, without ``_meta`` (which names the writer: pid, run id, time)."""
    out = {}
    for name in chunk_files(path):
        with np.load(Path(path) / "chunks" / name, allow_pickle=False) as z:
            out[name] = {k: z[k] for k in z.files if k != "_meta"}
    return out


def test_sigkill_then_resume_equals_uninterrupted(tmp_path):
    killed = tmp_path / "killed"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(Path(__file__).parent),
                                                       os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(killed)], env=env)
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            done = ([n for n in chunk_files(killed) if n.endswith(".npz")]
                    if (killed / "chunks").is_dir() else [])
            if len(done) >= 3 or proc.poll() is not None:
                break
            time.sleep(0.02)
        assert proc.poll() is None, "the sweep finished before it could be killed; make it longer"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
    partial = load_all(killed)                      # every chunk on disk is complete and loadable
    assert 3 <= len(partial) < len(GRID) * len(SEEDS)

    ip.sweep(GRID, SEEDS, killed, chunk_seeds=1, keep_weights=True, progress=False, resume=True)
    full = ip.sweep(GRID, SEEDS, tmp_path / "full", chunk_seeds=1, keep_weights=True, progress=False)

    assert chunk_files(killed) == chunk_files(full.path)      # no duplicates, no temp files
    a, b = load_all(killed), load_all(full.path)
    for name in a:
        assert a[name].keys() == b[name].keys()
        for k in a[name]:
            assert a[name][k].tobytes() == b[name][k].tobytes(), (name, k)
        assert a[name]["W"].tobytes() == partial.get(name, a[name])["W"].tobytes()


def test_result_concatenates_chunks_in_seed_order(tmp_path):
    cfg = ip.Config(n_features=4, n_hidden=8, steps=50)
    st = ip.sweep([cfg], [7, 3, 9, 1, 4], tmp_path / "s", chunk_seeds=2, keep_weights=True,
                  progress=False, record=5)
    res = st.result(0)
    assert list(res["seed"]) == [7, 3, 9, 1, 4]
    run = ip.train(cfg, [7, 3, 9, 1, 4], record=5, progress=False)
    assert res["W"].tobytes() == run.W.tobytes()
    assert res["history_loss"].shape == run.history["loss"].shape
    np.testing.assert_array_equal(res["polysemantic"], ip.metrics.polysemantic_neurons(run.W))


def test_store_refuses_other_sweep(tmp_path):
    cfg = ip.Config(n_features=3, n_hidden=4, steps=5)
    ip.sweep([cfg], 2, tmp_path / "s", progress=False)
    with pytest.raises(ValueError, match="resume"):
        ip.sweep([cfg], 2, tmp_path / "s", progress=False)
    with pytest.raises(ValueError, match="different sweep"):
        ip.sweep([cfg.replace(steps=6)], 2, tmp_path / "s", progress=False, resume=True)
    st = ip.sweep([cfg], 2, tmp_path / "s", progress=False, resume=True)   # nothing left to do
    assert len(st.result(0)["seed"]) == 2


TINY = ip.Config(n_features=3, n_hidden=5, steps=40, lr=1e-2)
TINY_GRID = [TINY, TINY.replace(optimizer="sgd", lr=0.05, noise="bernoulli", noise_std=0.1)]


def sweep_tiny(path, grid=TINY_GRID, **kwargs):
    args = dict(chunk_seeds=2, keep_weights=True, record=4, progress=False)
    return ip.sweep(grid, [3, 1, 4, 5, 9], path, **{**args, **kwargs})


def assert_same_results(a, b):
    assert len(a.configs) == len(b.configs)
    for c in range(len(a.configs)):
        ra, rb = a.result(c), b.result(c)
        assert ra.keys() == rb.keys() and ra
        for k in ra:
            assert ra[k].tobytes() == rb[k].tobytes(), (c, k)


def trained_lines(path):
    lines = [json.loads(ln) for ln in (Path(path) / "log.jsonl").read_text().splitlines()]
    return [ln for ln in lines if ln["event"] == "trained"]


def dead_pid():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The tiny grid swept once, serially, into a fresh store."""
    return sweep_tiny(tmp_path_factory.mktemp("ref") / "s")


BAD_ARGUMENTS = [
    ({"grid": []}, ValueError, "grid"), ({"grid": ["x"]}, ValueError, "grid"),
    ({"grid": "abc"}, ValueError, "grid"), ({"grid": 3}, ValueError, "grid"),
    ({"seeds": 0}, ValueError, "seeds"), ({"seeds": [1, -1]}, ValueError, "seeds"),
    ({"seeds": [1, 1]}, ValueError, "seeds"),
    ({"chunk_seeds": 0}, ValueError, "chunk_seeds"), ({"chunk_seeds": True}, ValueError, "chunk_seeds"),
    ({"chunk_seeds": 1.5}, ValueError, "chunk_seeds"),
    ({"record": 1}, ValueError, "record"), ({"record": [99]}, ValueError, "record"),
    ({"record": [1.5]}, ValueError, "record"), ({"record": True}, ValueError, "record"),
    ({"record": []}, ValueError, "record"),
    ({"active_tol": -1}, ValueError, "active_tol"), ({"active_tol": float("nan")}, ValueError, "active_tol"),
    ({"active_tol": True}, ValueError, "active_tol"), ({"active_tol": "0.1"}, ValueError, "active_tol"),
    ({"backend": "gpu"}, ValueError, "backend"),
    ({"keep_weights": "yes"}, TypeError, "keep_weights"), ({"keep_weights": 1}, TypeError, "keep_weights"),
    ({"resume": "no"}, TypeError, "resume"), ({"progress": None}, TypeError, "progress"),
    ({"client": object()}, TypeError, "client"),
]


@pytest.mark.parametrize("kwargs, exc, name", BAD_ARGUMENTS, ids=[str(a[0]) for a in BAD_ARGUMENTS])
def test_bad_argument_is_refused_before_anything_is_written(tmp_path, kwargs, exc, name):
    args = {"grid": [TINY], "seeds": 2, "chunk_seeds": 1, "progress": False, **kwargs}
    grid, seeds = args.pop("grid"), args.pop("seeds")
    with pytest.raises(exc, match=name):
        ip.sweep(grid, seeds, tmp_path / "s", **args)
    assert not (tmp_path / "s").exists()


def test_leftover_temps_of_dead_writers_are_removed_live_ones_kept(tmp_path, reference):
    """A kill during the manifest (or a chunk) write leaves a temp file named after its writer."""
    from incipoly.stores.files import HOST
    store = tmp_path / "s"
    (store / "chunks").mkdir(parents=True)
    dead, live = dead_pid(), os.getppid()
    leftovers = {store / f".sweep.json.{HOST}_{dead}_0badf00d.tmp": False,
                 store / "chunks" / f".c0000_s000000.npz.{HOST}_{dead}_0badf00d.tmp": False,
                 store / "chunks" / f".c0001_s000002.npz.{HOST}_{live}_1badf00d.tmp": True}
    for p in leftovers:
        p.write_bytes(b"partial")
    st = sweep_tiny(store)
    assert {p: p.exists() for p in leftovers} == leftovers
    assert_same_results(st, reference)


def test_missing_manifest_foreign_chunks_are_set_aside_and_retrained(tmp_path, reference, monkeypatch):
    store = tmp_path / "s"
    sweep_tiny(store, grid=[TINY.replace(steps=41), TINY.replace(l1=0.0)])
    (store / "sweep.json").unlink()
    with pytest.warns(UserWarning, match="another sweep or position") as record:
        st = sweep_tiny(store)                                 # resume=False: a new sweep
    assert len(record) == 6                                    # every old chunk
    assert len(list((store / "chunks" / "rejected").iterdir())) == 6
    assert_same_results(st, reference)
    # the same grid after losing its manifest adopts its own verified chunks, training nothing
    (store / "sweep.json").unlink()
    monkeypatch.setattr(importlib.import_module("incipoly.stores.chunks"), "train", no_training)
    assert_same_results(sweep_tiny(store), reference)


def no_training(*args, **kwargs):
    raise AssertionError("a verified chunk was trained again")


def _swap(store):
    chunks = store / "chunks"
    shutil.copy(chunks / "c0000_s000000.npz", chunks / "c0000_s000002.npz")


def _truncate(store):
    p = store / "chunks" / "c0000_s000002.npz"
    p.write_bytes(p.read_bytes()[:-200])


def _empty(store):
    (store / "chunks" / "c0000_s000002.npz").write_bytes(b"")


def _flip(store):
    p = store / "chunks" / "c0000_s000002.npz"
    b = bytearray(p.read_bytes())
    b[len(b) // 2] ^= 0x04
    p.write_bytes(bytes(b))


def _other_position(store):
    chunks = store / "chunks"          # a chunk of another config, same seeds
    shutil.copy(chunks / "c0001_s000002.npz", chunks / "c0000_s000002.npz")


@pytest.mark.parametrize("damage", [_swap, _other_position, _truncate, _empty, _flip])
def test_bad_chunk_fails_result_then_is_set_aside_and_retrained(tmp_path, reference, damage):
    store = tmp_path / "s"
    sweep_tiny(store)
    damage(store)
    bad = store / "chunks" / "c0000_s000002.npz"
    with pytest.raises(ip.StoreError, match="c0000_s000002.npz") as info:
        ip.SweepStore(store).result(0)
    assert info.value.path == bad
    assert ip.SweepStore(store).result(1)                     # other configs still read
    with pytest.warns(UserWarning, match="c0000_s000002.npz.*set aside") as record:
        st = sweep_tiny(store, resume=True)
    assert len(record) == 1
    assert [p.name[:13] for p in (store / "chunks" / "rejected").iterdir()] == ["c0000_s000002"]
    assert_same_results(st, reference)
    assert [ln["chunk"] for ln in trained_lines(store)].count("c0000_s000002.npz") == 2


@pytest.mark.parametrize("writer, age", [("dead pid here", 0), ("other host, silent", 1),
                                         ("live pid here, silent", 1), ("unreadable, silent", 1)])
def test_stale_claim_is_taken_over(tmp_path, reference, writer, age):
    """Dead writer here, or a claim untouched for longer than STALE_AFTER_S (pid reused, host lost)."""
    from incipoly.stores.files import HOST, STALE_AFTER_S
    claim = tmp_path / "s" / "claims" / "c0001_s000004.npz.claim"
    claim.parent.mkdir(parents=True)
    body = {"dead pid here": {"host": HOST, "pid": dead_pid()},
            "other host, silent": {"host": "elsewhere", "pid": os.getpid()},
            "live pid here, silent": {"host": HOST, "pid": os.getpid()}}.get(writer)
    claim.write_text(json.dumps({**body, "run": "x", "token": "t"}) if body else "{trunc")
    old = time.time() - age * (STALE_AFTER_S + 60)
    os.utime(claim, (old, old))
    assert_same_results(sweep_tiny(tmp_path / "s"), reference)
    assert not claim.exists()
    assert len(trained_lines(tmp_path / "s")) == 6


def test_live_claim_is_waited_for_not_trained_twice(tmp_path, reference):
    """Another live writer holds a chunk: the sweep trains the rest, waits, then takes it once free."""
    from incipoly.stores.files import HOST
    claim = tmp_path / "s" / "claims" / "c0001_s000004.npz.claim"
    claim.parent.mkdir(parents=True)
    claim.write_text(json.dumps({"host": HOST, "pid": os.getpid(), "run": "other", "token": "t"}))
    done = threading.Event()
    thread = threading.Thread(target=lambda: (sweep_tiny(tmp_path / "s"), done.set()))
    thread.start()
    deadline = time.time() + 60
    while len(trained_lines(tmp_path / "s") if (tmp_path / "s" / "log.jsonl").exists() else []) < 5:
        assert time.time() < deadline
        time.sleep(0.05)
    time.sleep(2 * POLL_S)
    assert not done.is_set() and not (tmp_path / "s" / "chunks" / "c0001_s000004.npz").exists()
    claim.unlink()                                             # the other writer gives it up
    thread.join(60)
    assert done.is_set()
    assert_same_results(ip.SweepStore(tmp_path / "s"), reference)
    assert len(trained_lines(tmp_path / "s")) == 6


def test_diverging_chunk_is_reported_with_config_and_seeds_not_retried(tmp_path):
    bad = TINY.replace(optimizer="sgd", lr=1e3, l1=0.0)
    with pytest.raises(ip.DivergenceError, match=r"(?s)1 chunk\(s\).*config 1 .*seeds \[0, 1\]") as info:
        ip.sweep([TINY, bad], 2, tmp_path / "s", chunk_seeds=2, progress=False)
    assert len(info.value.failures) == 1
    st = ip.SweepStore(tmp_path / "s")
    assert st.done(0, 0) and not st.done(1, 0)
    assert [ln["chunk"] for ln in trained_lines(tmp_path / "s")] == ["c0000_s000000.npz"]


def test_claim_rules_same_run_other_process_andheartbeat(tmp_path):
    """A claim of this same sweep run from another (live) process is an attempt Dask gave up on:
    stale. One of another run by a live process is not. The heartbeat keeps a claim fresh."""
    from incipoly.stores.claims import heartbeat, is_stale
    from incipoly.stores.files import HOST
    claim = tmp_path / "c.claim"
    claim.write_text(json.dumps({"host": HOST, "pid": os.getppid(), "run": "r1", "token": "t"}))
    assert is_stale(claim, "r1") and not is_stale(claim, "r2")
    claim.write_text(json.dumps({"host": HOST, "pid": os.getpid(), "run": "r1", "token": "t"}))
    assert not is_stale(claim, "r1")                     # this process's own claim
    os.utime(claim, (0, 0))
    with heartbeat(claim, every=0.01):
        deadline = time.time() + 10
        while claim.stat().st_mtime == 0:
            assert time.time() < deadline
            time.sleep(0.01)
    assert time.time() - claim.stat().st_mtime < 60


def test_progress_moves_within_a_chunk_and_totals_instance_steps(tmp_path, monkeypatch):
    """The serial sweep's bar advances while a chunk trains (train's ~100 updates per chunk, in
    instance-steps) and ends exactly at seeds × steps."""
    import tqdm.auto
    updates = []
    real = tqdm.auto.tqdm

    class Recording(real):
        def update(self, n=1):
            updates.append(n)
            return super().update(n)

    monkeypatch.setattr(tqdm.auto, "tqdm", Recording)
    cfg = ip.Config(n_features=3, n_hidden=4, steps=200)
    ip.sweep([cfg], 4, tmp_path / "s", chunk_seeds=2, progress=True)
    assert sum(updates) == 4 * 200
    assert len([u for u in updates if u > 0]) > 2 * 10      # many updates per chunk, not one
