"""``incipoly train``: every Config field, seeds, output directory; prints and saves the run."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..config import DEFAULT_RECORD
from ..metrics import mean_se
from ..report import format_seeds, training_health
from ..training import train
from .common import (
    add_config_arguments,
    add_parser,
    add_progress_argument,
    add_seeds_argument,
    check_writable_dir,
    config_from_args,
    fresh_run_dir,
    parse_seeds,
    resume_command,
)

#: Rows of the train table: (label, key of Run.summary()).
SUMMARY_ROWS = (
    ("polysemantic neurons", "polysemantic"),
    ("initial same-sign collision pairs", "init_same_sign_pairs"),
    ("initial mixed-sign argmax neurons", "init_mixed_neurons"),
    ("features won by initial argmax (fraction)", "winner_is_initial_argmax"),
    ("final loss (incl. L1 term)", "final_loss"),
)


def format_run(run) -> str:
    """The table printed by ``incipoly train`` and ``show``: config, seeds, means ± SE of
    ``run.summary()``, the fraction of features in the band, and any ``warning:`` lines
    (:func:`incipoly.report.training_health`).

    Parameters
    ----------
    run : Run

    Returns
    -------
    str

    Examples
    --------
    >>> import incipoly as ip
    >>> from incipoly.cli import format_run
    >>> run = ip.train(ip.Config(n_features=3, n_hidden=4, steps=20, lr=1e-2), seeds=2, progress=False)
    >>> print(format_run(run))  # doctest: +ELLIPSIS
    config: n_features=3 n_hidden=4 steps=20 optimizer=adamw lr=0.01 ...
    seeds: 2 (0,1)
    ...
    polysemantic neurons                                0 ±         0
    ...
    """
    summary = run.summary()
    cfg = " ".join(f"{k}={v}" for k, v in run.config.to_dict().items())
    width = max(len(label) for label, _ in SUMMARY_ROWS)
    lines = [f"config: {cfg}", f"seeds: {format_seeds(run.seeds)}",
             f"{'':{width}}  {'mean':>10}    {'SE':>9}"]
    for label, key in SUMMARY_ROWS:
        values = np.asarray(summary[key], np.float64)
        if np.isfinite(values).all():
            mean, se = (float(v) for v in mean_se(values))
        else:       # a run saved before divergence was detected (old files): show, don't fail
            mean, se = float(values.mean()), math.nan
        se_text = "n/a" if np.isnan(se) else f"{se:.3g}"
        lines.append(f"{label:{width}}  {mean:>10.4g} ± {se_text:>9}")
    health = training_health(run)
    lines.append(f"{'features in band [0.8, 1.2] (fraction)':{width}}  {health['in_band']:>10.4g}")
    return "\n".join([*lines, *health["warnings"]])


def add(subparsers):
    """Declare ``incipoly train``.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        From :func:`incipoly.cli.build_parser`'s ``add_subparsers``.

    Examples
    --------
    >>> import argparse
    >>> from incipoly.cli import train
    >>> subparsers = argparse.ArgumentParser().add_subparsers()
    >>> train.add(subparsers)
    >>> list(subparsers.choices)
    ['train']
    """
    p = add_parser(
        subparsers, "train",
        help="train independent toy models over seeds, print a summary, save the run",
        description="Train one toy ReLU autoencoder per seed, print per-seed means ± standard "
                    "errors and the\nfraction of features whose strongest weight reached the band "
                    "[0.8, 1.2], and save the run\n(config.json, arrays.npz, summary.csv). A line "
                    "starting 'warning:' says when training did\nnot finish (< 90 % in the band) or "
                    "features died, and what to change. The defaults are\nexactly those of "
                    "incipoly.Config() (8 seeds: about 15 s on 2 cores). The final loss includes "
                    "the\nL1 term l1·Σ|W|. Look at a saved run with 'incipoly show DIR'.")
    add_config_arguments(p)
    g = p.add_argument_group("seeds, output and recording")
    add_seeds_argument(g)
    g.add_argument("--out", metavar="DIR", default=None,
                   help="directory to save the run in (created if needed; a run saved there "
                        "before is replaced; checked writable before training); default: a new "
                        "runs/train-<timestamp>")
    g.add_argument("--record", type=int, default=DEFAULT_RECORD,
                   help="number of log-spaced history points (>= 2; step 0 and the last "
                        "included; at most steps + 1 distinct steps)")
    g.add_argument("--keep-weights", "--snapshots", dest="keep_weights", action="store_true",
                   help="also save the full weights at every recorded step (--snapshots is the "
                        "old name of this flag)")
    add_progress_argument(g)
    p.set_defaults(func=run)


def run(args) -> int:
    """Train, save, print the table.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed by :func:`incipoly.cli.build_parser`, with ``argv`` (the list parsed).

    Returns
    -------
    int
        The exit status (0 on success).

    Examples
    --------
    >>> from incipoly.cli import build_parser, train
    >>> argv = ["train", "--n-features", "3", "--n-hidden", "4", "--steps", "20", "--lr", "0.01",
    ...         "--seeds", "2", "--out", "runs", "--no-progress"]
    >>> args = build_parser().parse_args(argv)
    >>> args.argv = argv
    >>> train.run(args)  # doctest: +ELLIPSIS
    config: n_features=3 n_hidden=4 steps=20 ...
    0
    """
    config = config_from_args(args)
    seeds = parse_seeds(args.seeds)
    out = check_writable_dir(Path(args.out) if args.out is not None else Path("runs"))
    args.interrupted = ("nothing was kept (a run is saved only when training ends); start again "
                        f"with: {resume_command(args, drop=())}")
    try:
        result = train(config, seeds=seeds, record=args.record, keep_weights=args.keep_weights,
                       progress=not args.no_progress)
    except MemoryError as exc:      # name the flags that set the sizes
        raise MemoryError(f"--seeds {args.seeds} ({len(seeds)} models of --n-features "
                          f"{config.n_features} × --n-hidden {config.n_hidden}): {exc}") from None
    saved = result.save(out if args.out is not None else fresh_run_dir(out, "train"))
    print(format_run(result))
    print(f"wall time: {result.info['seconds']:.2f} s training")
    print(f"saved to {saved}")
    return 0


__all__ = ["SUMMARY_ROWS", "format_run", "add", "run"]
