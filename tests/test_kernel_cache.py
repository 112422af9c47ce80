"""The on-disk kernel cache never serves code built from other sources (numba issue #1833).

Numba keys a cached kernel on its own file only; functions it inlines from other modules
(``kernels/noise.py``'s SplitMix64, the update rules in ``kernels/cpu.py``) are not tracked. The
package keys its cache on a hash of every kernel source and the numba version instead. The test
edits a helper in a temporary copy of the package and trains in fresh processes sharing one cache
directory.
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import incipoly as ip
from incipoly.kernels import cache

PACKAGE = Path(ip.__file__).resolve().parent
SCRIPT = """
import hashlib, incipoly as ip
cfg = ip.Config(n_features=3, n_hidden=4, steps=20, noise="bernoulli", noise_std=0.3,
                lr=1e-2, dtype="float64")
print(hashlib.sha256(ip.train(cfg, seeds=[1, 2], progress=False).W.tobytes()).hexdigest())
"""


def _train_in_fresh_process(root, cache_dir):
    env = {**os.environ, "PYTHONPATH": str(root), "INCIPOLY_CACHE_DIR": str(cache_dir),
           "NUMBA_CACHE_DIR": str(cache_dir / "numba")}
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, cwd=root, capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def _cache_files(cache_dir):
    return sorted(p for p in cache_dir.rglob("*") if p.is_file())


def test_editing_an_inlined_helper_rebuilds_the_kernel(tmp_path):
    root, cache_dir = tmp_path / "copy", tmp_path / "cache"
    shutil.copytree(PACKAGE, root / "incipoly", ignore=shutil.ignore_patterns("__pycache__"))
    before = _train_in_fresh_process(root, cache_dir)
    files = _cache_files(cache_dir)
    assert any(p.suffix == ".nbi" for p in files), files      # the kernel was cached ...
    assert _train_in_fresh_process(root, cache_dir) == before
    assert _cache_files(cache_dir) == files                    # ... and reused, not rebuilt

    noise = root / "incipoly" / "kernels" / "noise.py"
    text = noise.read_text()
    assert "0xBF58476D1CE4E5B9" in text
    noise.write_text(text.replace("0xBF58476D1CE4E5B9", "0xBF58476D1CE4E5BB"))
    assert _train_in_fresh_process(root, cache_dir) != before


def test_source_key_follows_every_kernel_file(tmp_path):
    kernels = tmp_path / "kernels"
    shutil.copytree(PACKAGE / "kernels", kernels, ignore=shutil.ignore_patterns("__pycache__"))
    key = cache.source_key(kernels)
    assert key == cache.source_key(kernels)
    for f in sorted(kernels.glob("*.py")):
        saved = f.read_text()
        f.write_text(saved + "\n# edited\n")
        assert cache.source_key(kernels) != key, f.name
        f.write_text(saved)
    assert cache.source_key(kernels) == key


def test_clear_cache_removes_the_files_it_counts(tmp_path, monkeypatch):
    monkeypatch.setenv("INCIPOLY_CACHE_DIR", str(tmp_path))
    assert ip.cache_dir() == tmp_path
    for name in ("a/x.nbi", "a/x.nbc", "b/y.nbi"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"0")
    assert ip.clear_cache() == 3
    assert not any(p.is_file() for p in tmp_path.rglob("*"))
    assert ip.clear_cache() == 0
