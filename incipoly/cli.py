"""The ``incipoly`` console script.

Each subcommand is one ``_add_<name>(subparsers)`` function that declares its flags and sets
``func`` to the function that runs it; :data:`COMMANDS` lists them. Handlers return an exit status.
:func:`main` turns every failure into one line on stderr, never a traceback:

* a ``ValueError`` (bad config, seeds, record, ``--out``, ...; wrong types are ``WrongTypeError``,
  also a ``ValueError``) is a usage error: ``incipoly: error: <message>``, exit status 2, as for
  argparse's own errors;
* a runtime failure (``DivergenceError``, ``MemoryError``, ``OSError``) exits with status 1;
* Ctrl-C says what was saved and how to continue, exit status 130.
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import math
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from . import __version__
from ._validate import MAX_INSTANCES, MAX_SEED
from .compare import OPTIMIZER_DEFAULTS
from .config import (
    CORRELATIONS,
    DEFAULT_WEIGHT_DECAY,
    DTYPES,
    INITS,
    INPUTS,
    NOISE_SCOPES,
    NOISES,
    OPTIMIZERS,
    Config,
)
from .experiments import EXPERIMENTS, SCALES, WIDTH_EXPERIMENTS, reproduce
from .metrics import mean_se
from .plot import INSTALL_HINT
from .report import format_seeds
from .training import DivergenceError, train

#: Defaults of ``incipoly train``: exactly ``Config()`` — the paper's AdamW settings on n=64,
#: m=256 (8 seeds train in well under a minute on 2 cores).
TRAIN_DEFAULTS = Config()

#: Exit statuses: usage error (as argparse), runtime failure, interrupted (128 + SIGINT).
EXIT_USAGE, EXIT_FAILURE, EXIT_INTERRUPTED = 2, 1, 130


class _Formatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Show every flag's default and keep descriptions' line breaks."""


def parse_seeds(text: str) -> list[int]:
    """Parse ``--seeds``: ``"k"`` → ``0 … k−1``, ``"3,7,9"`` → those, ``"0-99"`` → 0 … 99.

    Raises
    ------
    ValueError
        If ``text`` is none of these forms (the message names ``seeds``).
    """
    text = text.strip()
    try:
        if "," in text:
            return [int(part) for part in text.split(",")]
        if "-" in text[1:]:
            lo, hi = (int(part) for part in text.split("-", 1))
        else:
            lo, hi = 0, int(text) - 1
    except ValueError:
        raise ValueError(f"seeds must be a count k (seeds 0..k-1), a comma list like 3,7,9 or a "
                         f"range like 0-99; got {text!r}") from None
    if lo < 0 or hi < lo:
        raise ValueError(f"seeds must be a count >= 1 or a range lo-hi with 0 <= lo <= hi; "
                         f"got {text!r}")
    if hi > MAX_SEED or hi - lo + 1 > MAX_INSTANCES:
        raise ValueError(f"seeds must be at most {MAX_INSTANCES} seeds, each <= {MAX_SEED}; "
                         f"got {text!r}")
    return list(range(lo, hi + 1))


def parse_widths(text: str) -> list[int]:
    """Parse ``--widths``: a comma list of hidden widths, ``"256,512,4096"``.

    Raises
    ------
    ValueError
        If an entry is not an integer (the message names ``widths``; the range is checked by
        :func:`incipoly.experiments.reproduce`).
    """
    try:
        return [int(part) for part in text.split(",")]
    except ValueError:
        raise ValueError(f"widths must be a comma list of integers like 256,512,4096; "
                         f"got {text!r}") from None


def add_config_arguments(parser: argparse.ArgumentParser, defaults: Config = TRAIN_DEFAULTS):
    """Add one flag per :class:`Config` field (``--n-features`` for ``n_features`` …)."""
    g = parser.add_argument_group("model and training (every Config field)")
    g.add_argument("--n-features", type=int, default=defaults.n_features,
                   help="n: number of one-hot features (>= 1)")
    g.add_argument("--n-hidden", type=int, default=defaults.n_hidden,
                   help="m: number of hidden neurons (>= 1)")
    g.add_argument("--steps", type=int, default=defaults.steps,
                   help="full-batch optimisation steps (>= 0)")
    g.add_argument("--optimizer", choices=OPTIMIZERS, default=defaults.optimizer,
                   help="adamw = torch.optim.AdamW; sgd with L1 subgradient; gd-prox = gradient "
                        "step then soft-threshold by lr*l1")
    g.add_argument("--lr", type=float, default=defaults.lr, help="learning rate (> 0)")
    g.add_argument("--l1", type=float, default=defaults.l1,
                   help="L1 coefficient in loss = sum (y - x)^2 + l1 * sum |W| (>= 0)")
    wd = ", ".join(f"{k} {v:g}" for k, v in DEFAULT_WEIGHT_DECAY.items())
    g.add_argument("--weight-decay", type=float, default=None,
                   help=f"decoupled weight decay W <- W (1 - lr*wd) (>= 0); default %(default)s "
                        f"= torch's default for the optimizer ({wd})")
    g.add_argument("--noise", choices=NOISES, default=defaults.noise,
                   help="hidden-layer noise, one vector per step shared by the batch")
    g.add_argument("--noise-std", type=float, default=defaults.noise_std,
                   help="standard deviation of the hidden noise (>= 0)")
    g.add_argument("--init", choices=INITS, default=defaults.init,
                   help="initial weights: normal = N(0, 1/m) (the paper's), xavier = N(0, 2/(n+m))")
    g.add_argument("--dtype", choices=DTYPES, default=defaults.dtype,
                   help="floating-point precision")
    _add_model_family_arguments(parser, defaults)


def _add_model_family_arguments(parser, defaults):
    """Flags of the sparse / untied / bias fields (see :class:`Config`)."""
    g = parser.add_argument_group("sparse inputs, importance, bias, untied decoder")
    g.add_argument("--inputs", choices=INPUTS, default=defaults.inputs,
                   help="one-hot: the full batch of n one-hot vectors (loss summed); sparse: "
                        "batch-size examples per step, each feature active with probability "
                        "feature-prob at magnitude U(0,1) (loss averaged over the batch)")
    g.add_argument("--feature-prob", type=float, default=defaults.feature_prob,
                   help="p in (0, 1]: probability that a feature is active (sparse only)")
    g.add_argument("--batch-size", type=int, default=defaults.batch_size,
                   help="examples per step (sparse only, >= 1)")
    g.add_argument("--importance", type=float, default=defaults.importance,
                   help="r in (0, 1]: output j weighted r^j in the loss (1 = uniform)")
    g.add_argument("--correlation", choices=CORRELATIONS, default=defaults.correlation,
                   help="features in pairs (0,1),(2,3),...: correlated = a pair is active "
                        "together with prob p; anticorrelated = with prob 2p one of the two "
                        "(each with prob 1/2), never both (sparse only)")
    g.add_argument("--bias", action=argparse.BooleanOptionalAction, default=defaults.bias,
                   help="decoder bias b: y = ReLU(D h + b), b initialised to 0")
    g.add_argument("--tied", action=argparse.BooleanOptionalAction, default=defaults.tied,
                   help="decoder D = W (the paper's); --no-tied: a decoder of its own, "
                        "initialised like W")
    g.add_argument("--noise-scope", choices=NOISE_SCOPES, default=defaults.noise_scope,
                   help="step: one hidden-noise vector per step shared by the batch; "
                        "example: a fresh vector per input")


def config_from_args(args: argparse.Namespace) -> Config:
    """Build (and so validate) the :class:`Config` from :func:`add_config_arguments`' flags."""
    return Config(**{f.name: getattr(args, f.name) for f in dataclasses.fields(Config)})


def add_seeds_argument(parser, default: str = "8"):
    """Add ``--seeds`` (parsed later by :func:`parse_seeds`, so errors name the field)."""
    parser.add_argument("--seeds", default=default,
                        help="a count k (seeds 0..k-1), a comma list like 3,7,9, or a range like "
                             "0-99 (inclusive); one independent model per seed")


#: Rows of the train table: (label, key of Run.summary()).
SUMMARY_ROWS = (
    ("polysemantic neurons", "polysemantic"),
    ("initial same-sign collision pairs", "init_same_sign_pairs"),
    ("initial mixed-sign argmax neurons", "init_mixed_neurons"),
    ("features won by initial argmax (fraction)", "winner_is_initial_argmax"),
    ("final loss (incl. L1 term)", "final_loss"),
)


def format_run(run) -> str:
    """The table printed by ``incipoly train``: config, seeds, means ± SE of ``run.summary()``."""
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
    return "\n".join(lines)


def _fresh_run_dir(root: Path, prefix: str) -> Path:
    """Create and return a new directory ``root/<prefix>-<timestamp>[-k]`` that did not exist."""
    root.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for k in range(1, 1000):
        path = root / (f"{prefix}-{stamp}" if k == 1 else f"{prefix}-{stamp}-{k}")
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue
    raise FileExistsError(f"no free directory name {prefix}-{stamp}-* under {root}")


def check_writable_dir(path: Path, flag: str = "--out") -> Path:
    """Refuse (ValueError naming ``flag``) a directory that could not be written, before training.

    ``path`` may not exist yet; then its nearest existing ancestor must be a writable directory.
    Writability is probed by creating and removing a temporary file there (``os.access`` says
    yes to root even on a read-only file system), so nothing is left behind.
    """
    if path.exists() and not path.is_dir():
        raise ValueError(f"{flag} {path} exists and is not a directory")
    probe = path
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        raise ValueError(f"{flag} {path}: {probe} is not a directory, so {path} cannot be created")
    try:
        with tempfile.TemporaryFile(dir=probe):
            pass
    except OSError as exc:
        raise ValueError(f"{flag} {path} is not writable ({probe}: {exc.strerror or exc})") from None
    return path


def _add_train(subparsers):
    """``incipoly train``: every Config field, seeds, output directory, recording."""
    p = subparsers.add_parser(
        "train", formatter_class=_Formatter,
        help="train independent toy models over seeds, print a summary, save the run",
        description="Train one toy ReLU autoencoder per seed, print per-seed means ± standard "
                    "errors,\nand save the run (config.json, arrays.npz, summary.csv). The "
                    "defaults are exactly those of\nincipoly.Config(). The final loss includes "
                    "the L1 term l1·Σ|W|. Look at a saved run with\n'incipoly show DIR'.")
    add_config_arguments(p)
    g = p.add_argument_group("seeds, output and recording")
    add_seeds_argument(g)
    g.add_argument("--out", metavar="DIR", default=None,
                   help="directory to save the run in (created if needed; a run saved there "
                        "before is replaced; checked writable before training); default "
                        "%(default)s = a new runs/train-<timestamp>")
    g.add_argument("--record", type=int, default=64,
                   help="number of log-spaced history points (>= 2; step 0 and the last "
                        "included; at most steps + 1 distinct steps)")
    g.add_argument("--snapshots", action="store_true",
                   help="also save the full weights at every recorded step")
    g.add_argument("--no-progress", action="store_true", help="hide the progress bar (stderr)")
    p.set_defaults(func=_run_train)


def _run_train(args) -> int:
    """Train, save, print the table."""
    config = config_from_args(args)
    seeds = parse_seeds(args.seeds)
    out = check_writable_dir(Path(args.out) if args.out is not None else Path("runs"))
    args.interrupted = "nothing was saved (a run is saved when training ends); run the same " \
                       "command again to start over"
    run = train(config, seeds=seeds, record=args.record, keep_weights=args.snapshots,
                progress=not args.no_progress)
    saved = run.save(out if args.out is not None else _fresh_run_dir(out, "train"))
    print(format_run(run))
    print(f"wall time: {run.info['seconds']:.2f} s training")
    print(f"saved to {saved}")
    return 0


def _add_show(subparsers):
    """``incipoly show RUN_DIR``: the summary table of a saved run and its figure."""
    p = subparsers.add_parser(
        "show", formatter_class=_Formatter,
        help="print a saved run's summary and draw its figure (loss, m′, final weights)",
        description="Print the summary table of a run saved by 'incipoly train' (or Run.save), "
                    "and write one PNG:\nthe loss (incl. the L1 term) and m′ histories over "
                    "seeds, and the final weights of one seed\nas a features × neurons heatmap "
                    "with the polysemantic neurons first, marked ▼ (needs [plot]).")
    p.add_argument("run_dir", metavar="RUN_DIR", help="directory of a saved run")
    p.add_argument("--png", metavar="FILE", default=None,
                   help="where to write the figure; default %(default)s = RUN_DIR/run.png")
    p.add_argument("--instance", type=int, default=0,
                   help="which seed's weights the heatmap shows (index into the run's seeds)")
    p.set_defaults(func=_run_show)


def _run_show(args) -> int:
    """Print the table; write the PNG (skipped, with a note, without matplotlib)."""
    from .plot import has_matplotlib
    from .stores.run import load
    path = Path(args.run_dir)
    try:
        run = load(path)
    except Exception as exc:        # any failure to read is a bad RUN_DIR, reported in one line
        raise ValueError(f"RUN_DIR {path} is not a readable saved run: "
                         f"{type(exc).__name__}: {exc}") from None
    png = Path(args.png) if args.png is not None else path / "run.png"
    print(repr(run))
    print(format_run(run))
    if not has_matplotlib():
        print(f"PNG skipped: matplotlib is not installed ({INSTALL_HINT})")
        return 0
    check_writable_dir(png.parent, "--png")
    run.plot(png, instance=args.instance)
    print(f"saved {png}")
    return 0


def _add_reproduce(subparsers):
    """``incipoly reproduce``: one of the paper's figures, or all, at small or paper scale."""
    listing = "\n".join(f"  {name:<13} {fn.__doc__.splitlines()[0]}"
                        for name, fn in EXPERIMENTS.items())
    p = subparsers.add_parser(
        "reproduce", formatter_class=_Formatter,
        help="reproduce the paper's figures (resumable sweep, CSV data, PNG)",
        description="Reproduce a figure of the paper: train its sweep into DIR/<experiment>/store "
                    "(chunk by chunk,\nresumable), write the figure data as CSV and the figure as "
                    "DIR/<experiment>/<experiment>.png,\nand print a one-line summary. "
                    f"Experiments:\n{listing}\n\n--scale small finishes all five in a few "
                    "minutes on 2 cores; --scale paper uses the paper's sizes\n(hours: use "
                    "--resume to continue after an interruption). Needs matplotlib (the [plot] "
                    "extra).")
    p.add_argument("experiment", choices=(*EXPERIMENTS, "all"),
                   help="which figure; all = every experiment in the order listed")
    p.add_argument("--scale", choices=SCALES, default="small",
                   help="small = same shapes, seconds each; paper = the paper's sizes")
    p.add_argument("--out", metavar="DIR", default=None,
                   help="output directory; default %(default)s = runs/reproduce-<scale>")
    p.add_argument("--resume", action="store_true",
                   help="continue the sweeps already in DIR (finished chunks are not retrained)")
    p.add_argument("--widths", metavar="M,M,...", default=None,
                   help="collisions and curves only: train these widths m instead of the "
                        "scale's list (e.g. 256,512,768,1024,4096, the widths the paper quotes)")
    add_dask_argument(p)
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar (stderr)")
    p.set_defaults(func=_run_reproduce)


def _run_reproduce(args) -> int:
    """Run the experiment(s), one summary line each; the PNG only when matplotlib is installed."""
    from .plot import has_matplotlib
    out = Path(args.out) if args.out is not None else Path("runs") / f"reproduce-{args.scale}"
    names = list(EXPERIMENTS) if args.experiment == "all" else [args.experiment]
    widths = None if args.widths is None else parse_widths(args.widths)
    if widths is not None and args.experiment not in WIDTH_EXPERIMENTS:
        raise ValueError(f"--widths applies to {' and '.join(WIDTH_EXPERIMENTS)} only; "
                         f"got experiment {args.experiment!r}")
    check_writable_dir(out)
    plot = has_matplotlib()
    if not plot:
        print(f"note: matplotlib is not installed, so only the CSVs are written (PNG skipped; "
              f"{INSTALL_HINT})", file=sys.stderr)
    again = " ".join(["incipoly reproduce", args.experiment, "--scale", args.scale, "--out",
                      str(out), *([] if widths is None else ["--widths", args.widths]),
                      "--resume"])
    with dask_client(args.dask) as client:
        for name in names:
            args.interrupted = (f"finished chunks are saved in {out / name / 'store'}; continue "
                                f"with: {again}")
            start = time.perf_counter()
            result, _ = reproduce(name, out, scale=args.scale, resume=args.resume,
                                  progress=not args.no_progress, widths=widths, plot=plot,
                                  client=client)
            print(f"{result.summary} [{time.perf_counter() - start:.1f} s; {out / name}]",
                  flush=True)
    return 0


def _add_compare(subparsers):
    """``incipoly compare``: polysemantic counts from training against the three models."""
    p = subparsers.add_parser(
        "compare", formatter_class=_Formatter,
        help="train a grid of (n, m) x optimizer x lambda and compare with theory",
        description="Train every cell of the grid n x (m = ratio*n) x optimizer x lambda over the "
                    "seeds and print,\nper cell, the simulated polysemantic count (mean ± SE) "
                    "beside n²/4m, the exact birthday law\nwith signs and the cascade model "
                    "(evaluated on the same initial weights), with z-scores.\n"
                    "Columns: winner = fraction of features whose final strongest neuron is "
                    "their initial\nargmax; in band = fraction of features whose strongest "
                    "weight lies in [0.8, 1.2] (below 1:\nsparsification unfinished, counts "
                    "biased low). The CSV's final_loss includes the L1 term.\nEvery flag given "
                    "is used as given (--steps 0 trains 0 steps); at least 2 seeds.\nThe "
                    "default grid finishes in about a minute on 2 cores.")
    p.add_argument("--n", type=int, nargs="+", default=[32], metavar="N",
                   help="numbers of features")
    p.add_argument("--ratios", type=float, nargs="+", default=[1, 2, 4, 8, 16], metavar="R",
                   help="hidden widths as multiples of n (m = R·n, rounded; finite, > 0)")
    p.add_argument("--optimizers", nargs="+", default=["adamw", "gd-prox"],
                   choices=list(OPTIMIZER_DEFAULTS), help="optimizers (each with its own defaults)")
    p.add_argument("--l1", type=float, nargs="+", default=None, metavar="LAMBDA",
                   help="L1 strengths; default: per optimizer (adamw 1e-3, gd-prox 1e-2)")
    p.add_argument("--lr", type=float, default=None,
                   help="learning rate for every optimizer; default: per optimizer")
    p.add_argument("--steps", type=int, default=None, help="steps; default: per optimizer")
    add_seeds_argument(p, default="16")
    p.add_argument("--out", metavar="DIR", default=None,
                   help="directory for compare.csv (and compare.png), checked writable before "
                        "training; default: a new runs/compare-<timestamp>")
    p.add_argument("--plot", action="store_true", help="also write compare.png (needs [plot])")
    add_dask_argument(p)
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar (stderr)")
    p.set_defaults(func=_run_compare)


def _run_compare(args) -> int:
    """Run the grid, print the table, write the CSV (and PNG)."""
    from . import compare as cmp
    if args.plot:
        from .plot import require_matplotlib
        require_matplotlib()
    cells = cmp.grid(args.n, args.ratios, args.optimizers, args.l1, args.lr, args.steps)
    seeds = cmp.check_compare_seeds(parse_seeds(args.seeds))
    out = check_writable_dir(Path(args.out) if args.out is not None else Path("runs"))
    args.interrupted = "nothing was saved (compare writes its table when every cell is done)"
    start = time.perf_counter()
    if args.out is None:
        out = _fresh_run_dir(out, "compare")
    if args.dask is None:
        rows = cmp.compare(cells, seeds, progress=not args.no_progress)
    else:                       # through a resumable sweep store, OUT/store, on the cluster
        with dask_client(args.dask) as client:
            rows = cmp.compare(cells, seeds, progress=not args.no_progress, client=client,
                               store=out / "store")
    print(cmp.format_table(rows))
    print(f"wall time: {time.perf_counter() - start:.1f} s; z = (simulation − model)/SE "
          "(cascade: paired per seed); winner = final neuron is the initial argmax; in band = "
          "strongest weight in [0.8, 1.2]")
    print(f"saved {cmp.write_csv(rows, out / 'compare.csv')}")
    if args.plot:
        from .plot import compare_figure
        print(f"saved {compare_figure(rows, out / 'compare.png')}")
    return 0


def add_dask_argument(parser):
    """Add ``--dask ADDRESS|local[:N]`` (train on a Dask cluster; see :func:`dask_client`)."""
    parser.add_argument("--dask", metavar="ADDRESS|local[:N]", default=None,
                        help="train the sweep's chunks on a Dask cluster: a scheduler address "
                             "(tcp://host:8786) or local[:N] = N single-threaded worker processes "
                             "here (default N = cores); needs the [dask] extra")


@contextlib.contextmanager
def dask_client(spec):
    """``None`` without ``--dask``; else a connected Client, closed on exit.

    Raises
    ------
    ValueError
        If dask.distributed is not installed (the message says how to install it) or ``spec``
        is neither an address nor ``local[:N]``.
    """
    if spec is None:
        yield None
        return
    try:
        from .stores import cluster as distributed
    except ImportError:
        raise ValueError("--dask needs dask.distributed: pip install 'incipoly[dask]'") from None
    distributed.parse_dask(spec)
    with distributed.connect(spec) as client:
        yield client


def _add_sweep(subparsers):
    """``incipoly sweep``: any grid from a TOML/JSON file into a resumable store; its summary."""
    p = subparsers.add_parser(
        "sweep", formatter_class=_Formatter,
        help="train any grid of configs (TOML or JSON file) into a resumable sweep store",
        description="Train every config of GRID_FILE over the seeds into the sweep store DIR "
                    "(chunk by chunk,\nresumable, shareable by several processes or a Dask "
                    "cluster), then print the per-config\ntable (mean ± SE over seeds) and write "
                    "DIR/summary.csv. GRID_FILE (TOML, or JSON for *.json)\nholds Config fields: a "
                    "list of values expands to one config each (Cartesian product),\na scalar is "
                    "fixed; see examples/grid.toml. --summary DIR prints the table of an\nexisting "
                    "store without training.")
    p.add_argument("grid", metavar="GRID_FILE", nargs="?", default=None,
                   help="grid file (TOML; JSON if it ends in .json)")
    p.add_argument("--summary", metavar="DIR", default=None,
                   help="only print the table of the store DIR and write DIR/summary.csv")
    p.add_argument("--store", metavar="DIR", default=None, help="sweep directory (required "
                   "with GRID_FILE)")
    add_seeds_argument(p)
    p.add_argument("--resume", action="store_true",
                   help="continue the sweep already in DIR (verified chunks are not retrained)")
    p.add_argument("--chunk-seeds", type=int, default=8,
                   help="seeds per chunk: the unit saved, claimed and run as one task (>= 1)")
    p.add_argument("--record", type=int, default=32,
                   help="number of log-spaced history points (>= 2)")
    p.add_argument("--keep-weights", action="store_true", help="also store W0 and W of every seed")
    add_dask_argument(p)
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar (stderr)")
    p.set_defaults(func=_run_sweep)


def _run_sweep(args) -> int:
    """Sweep the grid file (or only summarise ``--summary DIR``); print the table, write the CSV."""
    from .stores.grids import format_summary, read_grid, summary_rows, write_summary_csv
    from .stores.sweep_store import SweepStore
    from .stores.sweeps import sweep
    if (args.grid is None) == (args.summary is None):
        raise ValueError("sweep needs either GRID_FILE (with --store DIR) or --summary DIR")
    if args.summary is not None:
        try:
            st = SweepStore(Path(args.summary))
        except FileNotFoundError as exc:
            raise ValueError(f"summary: {exc}") from None
    else:
        if args.store is None:
            raise ValueError("store: --store DIR is required with GRID_FILE")
        configs, seeds = read_grid(args.grid), parse_seeds(args.seeds)
        with dask_client(args.dask) as client:
            st = sweep(configs, seeds, args.store, chunk_seeds=args.chunk_seeds,
                       resume=args.resume, keep_weights=args.keep_weights, record=args.record,
                       progress=not args.no_progress, client=client)
    rows = summary_rows(st)
    print(format_summary(rows))
    print(f"saved {write_summary_csv(rows, st.path / 'summary.csv')}")
    return 0


#: Subcommands in ``--help`` order; each entry adds its parser to the subparsers action.
COMMANDS = {"train": _add_train, "compare": _add_compare, "reproduce": _add_reproduce,
            "show": _add_show, "sweep": _add_sweep}


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with one subparser per entry of :data:`COMMANDS`."""
    parser = argparse.ArgumentParser(
        prog="incipoly", formatter_class=_Formatter,
        description="Incidental polysemanticity toy models (Lecomte et al., arXiv 2312.03096).")
    parser.add_argument("--version", action="version", version=f"incipoly {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add in COMMANDS.values():
        add(sub)
    return parser


def main(argv=None) -> int:
    """Run the CLI on ``argv`` (default ``sys.argv[1:]``); return the exit status.

    argparse errors, ``--help`` and ``--version`` raise ``SystemExit`` as usual. Everything else
    ends in one line on stderr: 2 for a bad value (``ValueError``, the message names the flag or
    field), 1 for a runtime failure (divergence, memory, files, a missing optional dependency),
    130 for Ctrl-C (with what was saved and how to continue).
    """
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ValueError as exc:
        return _fail(exc, EXIT_USAGE)
    except (DivergenceError, ImportError) as exc:
        return _fail(exc, EXIT_FAILURE)
    except MemoryError as exc:
        return _fail(f"out of memory: {exc or 'an allocation failed'}", EXIT_FAILURE)
    except BrokenPipeError:
        # stdout closed early (`incipoly train | head`): silence the flush at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILURE
    except OSError as exc:
        return _fail(exc, EXIT_FAILURE)
    except KeyboardInterrupt:
        note = getattr(args, "interrupted", "nothing was saved")
        print(f"\nincipoly: interrupted; {note}", file=sys.stderr)
        return EXIT_INTERRUPTED


def _fail(message, status) -> int:
    print(f"incipoly: error: {message}", file=sys.stderr)
    return status


__all__ = ["main", "build_parser", "TRAIN_DEFAULTS", "parse_seeds", "parse_widths", "config_from_args"]
