"""Several processes on one sweep store: same grid (shared work), different grids (one refused)."""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import incipoly as ip

HERE = Path(__file__).parent
GRIDS = {
    "a": [ip.Config(n_features=3, n_hidden=5, steps=3000, lr=1e-2),
          ip.Config(n_features=4, n_hidden=6, steps=3000, optimizer="sgd", lr=0.05,
                    noise="bernoulli", noise_std=0.1)],
    "b": [ip.Config(n_features=3, n_hidden=5, steps=3001, lr=1e-2)],
}
SEEDS = [0, 1, 2, 3, 4, 5]
OPTIONS = dict(chunk_seeds=1, keep_weights=True, record=4, progress=False)

CHILD = """
import sys, time
from pathlib import Path
import incipoly as ip
from test_sweep_writers import GRIDS, SEEDS, OPTIONS
store, grid, ready, go = sys.argv[1:]
ip.train(GRIDS[grid][0], 1, progress=False)          # load the compiled kernels before the start
Path(ready).touch()
while not Path(go).exists():
    time.sleep(0.002)
try:
    ip.sweep(GRIDS[grid], SEEDS, store, resume=True, **OPTIONS)
except ValueError as exc:
    print(exc)
    sys.exit(3)
"""


def start_together(store, grids, tmp_path):
    """Start one child per grid name, release them at the same instant; (returncode, stdout) each."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]))
    go = tmp_path / "go"
    procs = []
    for k, grid in enumerate(grids):
        ready = tmp_path / f"ready{k}"
        procs.append((ready, subprocess.Popen([sys.executable, "-c", CHILD, str(store), grid,
                                               str(ready), str(go)], env=env,
                                              stdout=subprocess.PIPE, text=True)))
    deadline = time.time() + 120
    while not all(r.exists() for r, _ in procs):
        assert time.time() < deadline and all(p.poll() is None for _, p in procs)
        time.sleep(0.01)
    go.touch()
    return [(p.wait(120), p.stdout.read()) for _, p in procs]


def serial(tmp_path, grid):
    return ip.sweep(GRIDS[grid], SEEDS, tmp_path / f"serial-{grid}", **OPTIONS)


def assert_same_results(a, b):
    assert len(a.configs) == len(b.configs)
    for c in range(len(a.configs)):
        ra, rb = a.result(c), b.result(c)
        assert ra.keys() == rb.keys() and len(ra["seed"]) == len(SEEDS)
        for k in ra:
            assert ra[k].tobytes() == rb[k].tobytes(), (c, k)


def trained(store):
    lines = [json.loads(ln) for ln in (store / "log.jsonl").read_text().splitlines()]
    return [(ln["chunk"], ln["pid"]) for ln in lines if ln["event"] == "trained"]


def test_two_writers_same_grid_share_the_work_each_chunk_once(tmp_path):
    store = tmp_path / "store"
    results = start_together(store, ["a", "a"], tmp_path)
    assert [rc for rc, _ in results] == [0, 0], results
    chunks = [c for c, _ in trained(store)]
    st = ip.SweepStore(store)
    assert sorted(chunks) == sorted(st.chunk_path(*ch).name for ch in st.chunks())   # once each
    assert sorted(p.name for p in (store / "chunks").iterdir()) == sorted(set(chunks))
    assert not any((store / "claims").iterdir())
    assert_same_results(st, serial(tmp_path, "a"))


def test_two_writers_different_grids_one_is_refused_nothing_mixed(tmp_path):
    store = tmp_path / "store"
    results = start_together(store, ["a", "b"], tmp_path)
    codes = sorted(rc for rc, _ in results)
    assert codes == [0, 3], results
    loser = next(out for rc, out in results if rc == 3)
    assert "holds a different sweep" in loser
    winner = "a" if results[0][0] == 0 else "b"
    st = ip.SweepStore(store)
    assert st.configs == GRIDS[winner]
    assert sorted(p.name for p in (store / "chunks").iterdir()) == \
        sorted(st.chunk_path(*ch).name for ch in st.chunks())
    assert_same_results(st, serial(tmp_path, winner))


def test_second_sweep_with_other_grid_is_refused_in_process(tmp_path):
    ip.sweep(GRIDS["b"], SEEDS[:2], tmp_path / "s", **OPTIONS)
    with pytest.raises(ValueError, match="holds a different sweep"):
        ip.sweep(GRIDS["a"], SEEDS[:2], tmp_path / "s", resume=True, **OPTIONS)
    assert sorted(p.name for p in (tmp_path / "s" / "chunks").iterdir()) == \
        ["c0000_s000000.npz", "c0000_s000001.npz"]
