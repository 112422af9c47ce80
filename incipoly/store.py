"""Runs and their files: ``config.json`` (config, seeds, versions), ``arrays.npz``, ``summary.csv``.

No pickle: arrays go through ``np.savez`` / ``np.load(allow_pickle=False)``, metadata through JSON.
"""
from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .config import Config

FORMAT_VERSION = 1


def versions() -> dict:
    """Versions of incipoly, numba and numpy, recorded with every saved result."""
    import numba

    from . import __version__
    return {"incipoly": __version__, "numba": numba.__version__, "numpy": np.__version__}


@dataclass
class Run:
    """The result of :func:`incipoly.train`: weights before/after, history, seeds and config."""

    config: Config
    seeds: np.ndarray
    W0: np.ndarray
    W: np.ndarray
    history: dict = field(default_factory=dict)
    info: dict = field(default_factory=dict)

    def summary(self) -> dict:
        """Per-instance headline numbers (arrays of length ``instances``)."""
        from . import metrics
        coll = metrics.initial_collisions(self.W0)
        final = metrics.assignments(self.W).neuron
        return {
            "seed": self.seeds,
            "polysemantic": metrics.polysemantic_neurons(self.W),
            "init_same_sign_pairs": coll.same_sign_pairs,
            "init_mixed_neurons": coll.mixed_neurons,
            "winner_is_initial_argmax": (final == coll.neuron).mean(axis=1),
            "final_loss": self.history["loss"][-1] if "loss" in self.history else np.full(len(self.seeds), np.nan),
        }

    def save(self, path) -> Path:
        """Write the run to directory ``path`` (created if needed); returns the path."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        meta = {"format": FORMAT_VERSION, "config": self.config.to_dict(),
                "seeds": [int(s) for s in self.seeds], "versions": versions(), "info": self.info}
        arrays = {"W0": self.W0, "W": self.W}
        arrays.update({f"history_{k}": v for k, v in self.history.items()})
        atomic_write(path / "arrays.npz", lambda f: np.savez(f, **arrays))
        atomic_write(path / "summary.csv", lambda f: _write_summary(f, self.summary()), text=True)
        atomic_write(path / "config.json", lambda f: json.dump(meta, f, indent=2, sort_keys=True), text=True)
        return path

    def plot(self, path=None, instance=0):
        """Figure with the loss and m′ histories and the final weights of one instance as a
        features × neurons heatmap, polysemantic neurons first and marked
        (:func:`incipoly.report.run_figure`); saved as a PNG at ``path`` when given.

        Returns
        -------
        matplotlib.figure.Figure
        """
        from .report import run_figure
        return run_figure(self, path, instance)

    def __repr__(self) -> str:
        """Config essentials, seeds, shapes and the mean polysemantic count on one line."""
        from .report import describe
        return describe(self)

    def _repr_html_(self) -> str:
        from .report import describe_html
        return describe_html(self)


def load(path) -> Run:
    """Read a run written by :meth:`Run.save`."""
    path = Path(path)
    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"no saved run at {path} (config.json missing)")
    meta = json.loads((path / "config.json").read_text())
    with np.load(path / "arrays.npz", allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    history = {k[len("history_"):]: v for k, v in arrays.items() if k.startswith("history_")}
    return Run(config=Config.from_dict(meta["config"]), seeds=np.asarray(meta["seeds"], np.int64),
               W0=arrays["W0"], W=arrays["W"], history=history, info=meta.get("info", {}))


def _write_summary(f, summary):
    writer = csv.writer(f)
    keys = list(summary)
    writer.writerow(keys)
    for row in zip(*(summary[k] for k in keys)):
        writer.writerow([f"{v:.10g}" if isinstance(v, (float, np.floating)) else int(v) for v in row])


def atomic_write(target: Path, write, text=False):
    """Write through a temporary file in the same directory, then rename over ``target``."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    with open(tmp, "w" if text else "wb", newline="" if text else None) as f:
        write(f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, target)
