"""Sweeps on a Dask LocalCluster: bit-identical to serial, survive a killed worker, share a store."""
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

import incipoly as ip

from clitools import run_cli

distributed = pytest.importorskip(
    "distributed", reason="needs dask.distributed: install the [dask] extra (CI installs every extra)")

GRID = [ip.Config(n_features=3, n_hidden=5, steps=400, lr=1e-2),
        ip.Config(n_features=4, n_hidden=6, steps=400, optimizer="sgd", lr=0.05,
                  noise="bernoulli", noise_std=0.1)]
OPTIONS = dict(chunk_seeds=2, keep_weights=True, record=4, progress=False)


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as c:
        yield c


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    return ip.sweep(GRID, 6, tmp_path_factory.mktemp("serial") / "s", **OPTIONS)


def assert_same(a, b):
    for c in range(len(a.configs)):
        ra, rb = a.result(c), b.result(c)
        assert ra.keys() == rb.keys() and len(ra["seed"]) == len(a.seeds)
        for k in ra:
            assert ra[k].tobytes() == rb[k].tobytes(), (c, k)


def trained(store):
    lines = [json.loads(ln) for ln in (Path(store) / "log.jsonl").read_text().splitlines()]
    return [ln for ln in lines if ln["event"] == "trained"]


def chunk_names(st):
    return sorted(st.chunk_path(*ch).name for ch in st.chunks())


def test_cluster_sweep_is_bit_identical_to_serial(tmp_path, client, serial):
    st = ip.sweep(GRID, 6, tmp_path / "s", client=client, **OPTIONS)
    assert_same(st, serial)
    pids = set(client.run(os.getpid).values())
    assert {ln["pid"] for ln in trained(st.path)} <= pids            # workers wrote the chunks
    assert sorted(ln["chunk"] for ln in trained(st.path)) == chunk_names(st)


def test_resume_across_serial_and_cluster(tmp_path, client, serial):
    ip.sweep(GRID, 6, tmp_path / "s", **OPTIONS)                    # all serial
    for p in sorted((tmp_path / "s" / "chunks").glob("c0001_*.npz")):
        p.unlink()                                                   # lose config 1
    st = ip.sweep(GRID, 6, tmp_path / "s", resume=True, client=client, **OPTIONS)
    assert_same(st, serial)
    again = [n for n in chunk_names(st) if n.startswith("c0001")]   # trained once more, only
    assert sorted(ln["chunk"] for ln in trained(st.path)) == sorted(chunk_names(st) + again)


def test_killed_worker_chunk_is_retried_once_nothing_lost(tmp_path, client):
    # ≈ 1 s per chunk, so the worker found holding a claim is still training it when killed
    # (at 30 000 steps a chunk took 10 ms and the kill could land after the worker had finished).
    grid = [ip.Config(n_features=4, n_hidden=8, steps=3_000_000, optimizer="sgd", lr=0.02,
                      l1=0.0)]
    opts = dict(OPTIONS, chunk_seeds=1)
    store = tmp_path / "s"
    pids = set(client.run(os.getpid).values())
    box = {}
    thread = threading.Thread(target=lambda: box.update(st=ip.sweep(grid, 4, store, client=client,
                                                                     **opts)))
    thread.start()
    victim, deadline = None, time.time() + 120
    while victim is None:                 # the first claim a worker holds on an unfinished chunk
        assert time.time() < deadline and thread.is_alive()
        for claim in (store / "claims").glob("*.claim") if (store / "claims").is_dir() else []:
            try:
                info = json.loads(claim.read_text())
            except (OSError, ValueError):
                continue
            chunk = store / "chunks" / claim.name[:-len(".claim")]
            if info["pid"] in pids and not chunk.exists():
                victim, victim_chunk = info["pid"], chunk.name
                break
        time.sleep(0.01)
    os.kill(victim, signal.SIGKILL)
    thread.join(180)
    assert "st" in box, "the sweep did not finish after a worker was killed"
    st = box["st"]
    assert sorted(p.name for p in (store / "chunks").iterdir()) == chunk_names(st)   # no temps
    counts = [ln["chunk"] for ln in trained(store)]
    assert all(counts.count(n) <= 1 for n in chunk_names(st)) and victim not in \
        {ln["pid"] for ln in trained(store)} | set(client.run(os.getpid).values())
    assert counts.count(victim_chunk) == 1          # the killed worker's chunk, trained by another
    assert_same(st, ip.sweep(grid, 4, tmp_path / "serial", **opts))


def test_cluster_and_serial_writer_share_one_store(tmp_path, client, serial):
    store = tmp_path / "s"
    box = {}
    thread = threading.Thread(target=lambda: box.update(
        st=ip.sweep(GRID, 6, store, resume=True, client=client, **OPTIONS)))
    thread.start()
    st = ip.sweep(GRID, 6, store, resume=True, **OPTIONS)           # a plain writer at once
    thread.join(120)
    assert "st" in box
    assert sorted(ln["chunk"] for ln in trained(store)) == chunk_names(st)   # each chunk once
    assert_same(st, serial)
    assert_same(box["st"], serial)


def test_diverging_chunk_on_cluster_is_reported_once(tmp_path, client):
    bad = GRID[0].replace(optimizer="sgd", lr=1e3, l1=0.0)
    with pytest.raises(ip.DivergenceError, match=r"(?s)config 1 .*seeds \[2, 3\]"):
        ip.sweep([GRID[0], bad], [0, 1, 2, 3], tmp_path / "s", client=client,
                 **dict(OPTIONS, chunk_seeds=2))
    st = ip.SweepStore(tmp_path / "s")
    assert [st.done(0, 0), st.done(0, 2), st.done(1, 0), st.done(1, 2)] == [True, True, False, False]
    assert sorted(ln["chunk"] for ln in trained(st.path)) == ["c0000_s000000.npz", "c0000_s000002.npz"]


def test_import_incipoly_does_not_import_dask():
    code = "import sys, incipoly; print(any(m.split('.')[0] in ('dask', 'distributed') for m in sys.modules))"
    import subprocess
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_cli_sweep_on_scheduler_address_equals_library(tmp_path, capsys, client):
    grid = tmp_path / "grid.toml"
    grid.write_text('n_features = 3\nn_hidden = [5, 7]\nsteps = 300\nlr = 0.01\n')
    address = client.scheduler.address                              # tcp://127.0.0.1:port
    rc, out, err = run_cli(["sweep", str(grid), "--seeds", "4", "--store", str(tmp_path / "s"),
                            "--chunk-seeds", "2", "--record", "4", "--dask", address,
                            "--no-progress"], capsys)
    assert rc == 0, err
    configs = [ip.Config(n_features=3, n_hidden=m, steps=300, lr=0.01) for m in (5, 7)]
    ref = ip.sweep(configs, 4, tmp_path / "ref", chunk_seeds=2, record=4, progress=False)
    st = ip.SweepStore(tmp_path / "s")
    for c in range(2):
        a, b = st.result(c), ref.result(c)
        assert a.keys() == b.keys() and all(a[k].tobytes() == b[k].tobytes() for k in a)
    assert {ln["pid"] for ln in trained(st.path)} <= set(client.run(os.getpid).values())


@pytest.mark.parametrize("spec, message", [("local:0", "N >= 1"), ("local:x", "--dask must be"),
                                           ("tcp://a b", "--dask must be")])
def test_bad_dask_spec_exits_2(tmp_path, capsys, spec, message):
    grid = tmp_path / "grid.toml"
    grid.write_text("n_features = 3\n")
    rc, _, err = run_cli(["sweep", str(grid), "--store", str(tmp_path / "s"), "--dask", spec],
                         capsys)
    assert rc == 2 and message in err and not (tmp_path / "s").exists()


@pytest.mark.parametrize("command", [["sweep", "GRID", "--store", "S"], ["compare"],
                                     ["reproduce", "noise"]])
def test_dask_without_dask_installed_says_how_to_install(tmp_path, capsys, monkeypatch, command):
    grid = tmp_path / "grid.toml"
    grid.write_text("n_features = 3\nsteps = 10\n")
    command = [str(grid) if a == "GRID" else str(tmp_path / "s") if a == "S" else a
               for a in command]
    for name in ("distributed", "incipoly.stores.cluster"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    import incipoly.stores
    monkeypatch.delattr(incipoly.stores, "cluster", raising=False)
    monkeypatch.setitem(sys.modules, "distributed", None)          # `import distributed` fails
    rc, out, err = run_cli(command + ["--dask", "local:1", "--out", str(tmp_path / "o")]
                           if command[0] != "sweep" else command + ["--dask", "local:1"], capsys)
    assert rc == 2
    assert err.strip() == "incipoly: error: --dask needs dask.distributed: pip install 'incipoly[dask]'"


def test_compare_on_cluster_gives_the_same_rows(tmp_path, client):
    from incipoly import compare as cmp
    cells = cmp.grid([4], [1, 2], ["adamw"], steps=60)
    local = cmp.compare(cells, 3, progress=False)
    remote = cmp.compare(cells, 3, progress=False, client=client, store=tmp_path / "store")
    assert remote == local


@pytest.mark.parametrize("name", ["sparsity", "noise", "collisions", "correlations", "curves",
                                  "superposition", "cooccurrence"])
def test_reproduce_hands_the_client_to_its_sweep(tmp_path, monkeypatch, name):
    from incipoly import experiments
    seen = {}

    def fake_sweep(*args, **kwargs):
        seen.update(kwargs)
        raise RuntimeError("stop before training")

    from incipoly.experiments import one_hot, sparse
    monkeypatch.setattr(one_hot, "sweep", fake_sweep)
    monkeypatch.setattr(sparse, "sweep", fake_sweep)
    sentinel = object()
    with pytest.raises(RuntimeError, match="stop before training"):
        experiments.reproduce(name, tmp_path, client=sentinel)
    assert seen["client"] is sentinel
