"""What every subcommand shares: exit statuses, the help formatter, seeds, paths, Dask, resuming.

Exit statuses (one rule for every command, stated in each ``--help`` epilog and in README):

* 2, usage: the command line is wrong — an unknown flag, a value out of range, a path argument
  that does not exist or cannot be written (checked before any work starts);
* 1, failure: the command could not be carried out — training diverged, out of memory, a file
  that exists is corrupt or unreadable, a disk error, a missing optional dependency;
* 130, interrupted (Ctrl-C): the command says what was kept and the exact command that resumes.
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import shlex
import tempfile
import time
from pathlib import Path

from .._validate import MAX_INSTANCES, MAX_SEED
from ..config import (
    CORRELATIONS,
    DEFAULT_SEEDS,
    DEFAULT_WEIGHT_DECAY,
    DTYPES,
    INITS,
    INPUTS,
    NOISE_SCOPES,
    NOISES,
    OPTIMIZERS,
    Config,
)

#: Exit statuses: usage error (as argparse), runtime or file failure, interrupted (128 + SIGINT).
EXIT_USAGE, EXIT_FAILURE, EXIT_INTERRUPTED = 2, 1, 130

#: The exit-status rule, printed at the end of every ``--help``.
EXIT_EPILOG = ("exit status: 0 success; 2 usage error (bad flag or value, a path argument that "
               "does not exist or cannot be written); 1 failure (divergence, out of memory, a "
               "corrupt or unreadable file, a disk error); 130 interrupted by Ctrl-C (says what "
               "was kept and how to resume)")

#: Defaults of ``incipoly train``: exactly ``Config()``, the paper's AdamW settings on n=64, m=256.
TRAIN_DEFAULTS = Config()


class Formatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Show every flag's default (unless its help states one) and keep descriptions' line breaks.

    Parameters
    ----------
    prog : str
    Examples
    --------
    >>> import argparse; from incipoly.cli.common import Formatter
    >>> p = argparse.ArgumentParser(formatter_class=Formatter); _ = p.add_argument("--k", default=2, help="k")
    >>> "(default: 2)" in p.format_help()
    True
    """

    def _get_help_string(self, action):
        text = action.help or ""
        if "default" in text or action.default in (None, False, argparse.SUPPRESS):
            return text                 # the help states its default in words, or it has none
        return super()._get_help_string(action)


def add_parser(subparsers, name, **kwargs):
    """A subcommand parser with the shared formatter and the exit-status epilog.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
    name : str
    **kwargs
        Passed to ``add_parser`` (``help``, ``description`` …).
    Returns
    -------
    argparse.ArgumentParser
    Examples
    --------
    >>> import argparse; from incipoly.cli.common import add_parser
    >>> add_parser(argparse.ArgumentParser().add_subparsers(), "demo").epilog[:12]
    'exit status:'
    """
    return subparsers.add_parser(name, formatter_class=Formatter, epilog=EXIT_EPILOG, **kwargs)


def parse_seeds(text: str) -> list[int] | range:
    """Parse ``--seeds``: ``"k"`` → ``range(k)``, ``"3,7,9"`` → ``[3, 7, 9]``, ``"0-99"`` →
    ``range(0, 100)`` (a range, so a huge count costs nothing before the memory check refuses it).

    Raises
    ------
    ValueError
        If ``text`` is none of these forms or too large (the message names ``seeds``).
    Parameters
    ----------
    text : str
    Returns
    -------
    list of int or range
    Examples
    --------
    >>> from incipoly.cli import parse_seeds
    >>> parse_seeds("4"), parse_seeds("3,7,9"), parse_seeds("0-99")
    (range(0, 4), [3, 7, 9], range(0, 100))
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
    return range(lo, hi + 1)


def add_seeds_argument(parser, default: str = str(DEFAULT_SEEDS)):
    """Add ``--seeds`` (parsed later by :func:`parse_seeds`, so errors name the field).

    Parameters
    ----------
    parser : argparse.ArgumentParser
    default : str
    Examples
    --------
    >>> import argparse; from incipoly.cli.common import add_seeds_argument
    >>> p = argparse.ArgumentParser(); add_seeds_argument(p); p.parse_args(["--seeds", "0-3"]).seeds
    '0-3'
    """
    parser.add_argument("--seeds", default=default,
                        help="a count k (seeds 0..k-1), a comma list like 3,7,9, or a range like "
                             "0-99 (inclusive); one independent model per seed")


def add_progress_argument(parser):
    """Add ``--no-progress``.

    Parameters
    ----------
    parser : argparse.ArgumentParser
    Examples
    --------
    >>> import argparse; from incipoly.cli.common import add_progress_argument
    >>> p = argparse.ArgumentParser(); add_progress_argument(p); p.parse_args(["--no-progress"]).no_progress
    True
    """
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar (stderr)")


_WD = ", ".join(f"{k} {v:g}" for k, v in DEFAULT_WEIGHT_DECAY.items())

#: The flags of :func:`add_config_arguments`: argument group → (Config field, argparse keywords);
#: the flag is the field with ``-`` for ``_`` and its default the field's in ``defaults``.
CONFIG_FLAGS = {
    "model and training (every Config field)": (
        ("n_features", {"type": int, "help": "n: number of one-hot features (>= 1)"}),
        ("n_hidden", {"type": int, "help": "m: number of hidden neurons (>= 1)"}),
        ("steps", {"type": int, "help": "full-batch optimisation steps (>= 0)"}),
        ("optimizer", {"choices": OPTIMIZERS,
                       "help": "adamw = torch.optim.AdamW; sgd with L1 subgradient; gd-prox = "
                               "gradient step then soft-threshold by lr*l1"}),
        ("lr", {"type": float, "help": "learning rate (> 0)"}),
        ("l1", {"type": float,
                "help": "L1 coefficient in loss = sum (y - x)^2 + l1 * sum |W| (>= 0)"}),
        ("weight_decay", {"type": float,
                          "help": f"decoupled weight decay W <- W (1 - lr*wd) (>= 0); default: "
                                  f"torch's default for the optimizer ({_WD})"}),
        ("noise", {"choices": NOISES,
                   "help": "hidden-layer noise, one vector per step shared by the batch"}),
        ("noise_std", {"type": float, "help": "standard deviation of the hidden noise (>= 0)"}),
        ("init", {"choices": INITS, "help": "initial weights: normal = N(0, 1/m) (the paper's), "
                                            "xavier = N(0, 2/(n+m))"}),
        ("dtype", {"choices": DTYPES, "help": "floating-point precision"}),
    ),
    "sparse inputs, importance, bias, untied decoder": (
        ("inputs", {"choices": INPUTS,
                    "help": "one-hot: the full batch of n one-hot vectors (loss summed); sparse: "
                            "batch-size examples per step, each feature active with probability "
                            "feature-prob at magnitude U(0,1) (loss averaged over the batch)"}),
        ("feature_prob", {"type": float, "help": "p in (0, 1]: probability that a feature is "
                                                 "active (sparse only)"}),
        ("batch_size", {"type": int, "help": "examples per step (sparse only, >= 1)"}),
        ("importance", {"type": float,
                        "help": "r in (0, 1]: output j weighted r^j in the loss (1 = uniform)"}),
        ("correlation", {"choices": CORRELATIONS,
                         "help": "features in pairs (0,1),(2,3),...: correlated = a pair is "
                                 "active together with prob p; anticorrelated = with prob 2p one "
                                 "of the two (each with prob 1/2), never both (sparse only)"}),
        ("bias", {"action": argparse.BooleanOptionalAction,
                  "help": "decoder bias b: y = ReLU(D h + b), b initialised to 0"}),
        ("tied", {"action": argparse.BooleanOptionalAction,
                  "help": "decoder D = W (the paper's); --no-tied: a decoder of its own, "
                          "initialised like W"}),
        ("noise_scope", {"choices": NOISE_SCOPES,
                         "help": "step: one hidden-noise vector per step shared by the batch; "
                                 "example: a fresh vector per input"}),
    ),
}


def add_config_arguments(parser: argparse.ArgumentParser, defaults: Config = TRAIN_DEFAULTS):
    """Add one flag per :class:`Config` field (``--n-features`` for ``n_features`` …), as listed
    in :data:`CONFIG_FLAGS`; ``--weight-decay`` defaults to ``None`` (per optimizer).

    Parameters
    ----------
    parser : argparse.ArgumentParser
    defaults : Config
    Examples
    --------
    >>> import argparse; from incipoly.cli.common import add_config_arguments
    >>> p = argparse.ArgumentParser(); add_config_arguments(p); p.parse_args(["--n-hidden", "4"]).n_hidden
    4
    """
    for title, flags in CONFIG_FLAGS.items():
        group = parser.add_argument_group(title)
        for field, kwargs in flags:
            default = None if field == "weight_decay" else getattr(defaults, field)
            group.add_argument("--" + field.replace("_", "-"), default=default, **kwargs)


def config_from_args(args: argparse.Namespace) -> Config:
    """Build (and so validate) the :class:`Config` from :func:`add_config_arguments`' flags.

    Parameters
    ----------
    args : argparse.Namespace
    Returns
    -------
    Config
    Examples
    --------
    >>> from incipoly.cli import build_parser, config_from_args
    >>> config_from_args(build_parser().parse_args(["train", "--n-features", "3", "--n-hidden", "4"]))
    Config(n_features=3, n_hidden=4, steps=7500, optimizer='adamw')
    """
    return Config(**{f.name: getattr(args, f.name) for f in dataclasses.fields(Config)})


def fresh_run_dir(root: Path, prefix: str) -> Path:
    """Create and return a new directory ``root/<prefix>-<timestamp>[-k]`` that did not exist.

    Parameters
    ----------
    root : pathlib.Path
    prefix : str
    Returns
    -------
    pathlib.Path
    Examples
    --------
    >>> from pathlib import Path; from incipoly.cli.common import fresh_run_dir
    >>> fresh_run_dir(Path("runs"), "train") != fresh_run_dir(Path("runs"), "train")   # never reused
    True
    """
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


def check_writable_dir(path: Path, flag: str = "--out", given=None) -> Path:
    """Refuse (ValueError naming ``flag``) a directory that could not be written, before training.

    ``path`` may not exist yet; then its nearest existing ancestor must be a writable directory.
    Writability is probed by creating and removing a temporary file there (``os.access`` says
    yes to root even on a read-only file system), so nothing is left behind.

    ``given`` is the argument as the user wrote it, when that differs from ``path`` (``--png
    FILE`` checks FILE's directory).

    Raises
    ------
    ValueError
        Naming ``flag``, the argument and why it cannot be written.
    Parameters
    ----------
    path : pathlib.Path
    flag : str
    given : str, optional
    Returns
    -------
    pathlib.Path
    Examples
    --------
    >>> from pathlib import Path; from incipoly.cli import check_writable_dir
    >>> check_writable_dir(Path("new/out")).as_posix()     # may not exist yet; nothing is created
    'new/out'
    """
    path = Path(path)
    given = path if given is None else given
    if path.exists() and not path.is_dir():
        raise ValueError(f"{flag} {given}: {path} exists and is not a directory")
    probe = path
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        raise ValueError(f"{flag} {given}: {probe} is not a directory, so {path} cannot be "
                         "created")
    try:
        with tempfile.TemporaryFile(dir=probe):
            pass
    except OSError as exc:
        raise ValueError(f"{flag} {given} is not writable: cannot create a file in {probe} "
                         f"({exc.strerror or exc})") from None
    return path


def check_existing(path, flag: str, directory: bool) -> Path:
    """``path`` as a Path, if it exists and is a directory (``directory``) or a file.

    Raises
    ------
    ValueError
        Naming ``flag`` and ``path``: it does not exist, or is not a directory / not a file.
    Parameters
    ----------
    path : path-like
    flag : str
    directory : bool
    Returns
    -------
    pathlib.Path
    Examples
    --------
    >>> from incipoly.cli.common import check_existing
    >>> check_existing(".", "RUN_DIR", directory=True).is_dir()
    True
    """
    path = Path(path)
    kind = "directory" if directory else "file"
    if not path.exists():
        raise ValueError(f"{flag} {path} does not exist")
    if path.is_dir() != directory:
        raise ValueError(f"{flag} {path} is not a {kind}")
    return path


def resume_command(args, drop=("--resume",), add=()) -> str:
    """The shell command that repeats this invocation with ``add`` (e.g. ``--resume``) appended.

    ``args.argv`` is the argument list :func:`incipoly.cli.main` parsed; flags in ``drop`` (and
    their values, for those in ``add`` given as pairs) are removed first so none appears twice.

    Parameters
    ----------
    args : argparse.Namespace
    drop : sequence of str
    add : sequence of str
    Returns
    -------
    str
    Examples
    --------
    >>> import argparse; from incipoly.cli.common import resume_command
    >>> resume_command(argparse.Namespace(argv=["sweep", "grid.toml", "--store", "s"]), add=("--resume",))
    'incipoly sweep grid.toml --store s --resume'
    """
    argv, skip = [], False
    takes_value = {a for a in add if a.startswith("--")} - {"--resume"}
    for token in args.argv:
        if skip:
            skip = False
            continue
        name = token.split("=", 1)[0]
        if name in drop or name in takes_value:
            skip = name in takes_value and "=" not in token
            continue
        argv.append(token)
    return shlex.join(["incipoly", *argv, *add])


def add_dask_argument(parser):
    """Add ``--dask ADDRESS|local[:N]`` (train on a Dask cluster; see :func:`dask_client`).

    Parameters
    ----------
    parser : argparse.ArgumentParser
    Examples
    --------
    >>> import argparse; from incipoly.cli.common import add_dask_argument
    >>> p = argparse.ArgumentParser(); add_dask_argument(p); p.parse_args(["--dask", "local:2"]).dask
    'local:2'
    """
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
    Parameters
    ----------
    spec : str or None
    Yields
    ------
    dask.distributed.Client or None
    Examples
    --------
    >>> from incipoly.cli.common import dask_client
    >>> with dask_client(None) as client:
    ...     print(client)
    None
    """
    if spec is None:
        yield None
        return
    try:
        from ..stores import cluster as distributed
    except ImportError:
        raise ValueError("--dask needs dask.distributed: pip install 'incipoly[dask]'") from None
    distributed.parse_dask(spec)
    with distributed.connect(spec) as client:
        yield client


__all__ = ["EXIT_USAGE", "EXIT_FAILURE", "EXIT_INTERRUPTED", "EXIT_EPILOG", "TRAIN_DEFAULTS",
           "CONFIG_FLAGS", "Formatter", "add_parser", "parse_seeds",
           "add_seeds_argument", "add_progress_argument", "add_config_arguments", "config_from_args",
           "fresh_run_dir", "check_writable_dir", "check_existing", "resume_command",
           "add_dask_argument", "dask_client"]
