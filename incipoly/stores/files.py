"""Files that appear complete or not at all, and who wrote them.

:func:`atomic_write` writes through a temporary file named after its writer (host, pid) and
renames it into place; :func:`clean_stale_temps` removes temporaries whose writer died
(:func:`writer_dead`); :func:`write_csv` is the one CSV writer of the package's tables.
"""
from __future__ import annotations

import csv
import numbers
import os
import re
import socket
import time
import uuid
from pathlib import Path

#: This machine's name, made safe for file names (in temporary-file and claim names).
HOST = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname()) or "host"

#: A temporary file or claim not touched for this many seconds is stale, whoever wrote it (live
#: writers touch their claims every ``incipoly.stores.claims.HEARTBEAT_S``); on this host one whose
#: writer's pid is gone is stale at once.
STALE_AFTER_S = 600.0

_TEMP = re.compile(r"^\.(?P<target>.+)\.(?P<host>[A-Za-z0-9-]+)_(?P<pid>\d+)_[0-9a-f]{8}\.tmp$")


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` runs on this host (a zombie — killed, not yet reaped — is dead).

    Parameters
    ----------
    pid : int

    Returns
    -------
    bool

    Examples
    --------
    >>> import os
    >>> from incipoly.stores.files import pid_alive
    >>> pid_alive(os.getpid())
    True
    """
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:                       # exists, owned by someone else
        pass
    try:
        with open(f"/proc/{int(pid)}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):                 # no /proc (macOS): trust os.kill
        return True


def writer_dead(host: str, pid: int, mtime: float, stale_after: float = STALE_AFTER_S) -> bool:
    """Whether the writer of a file touched at ``mtime`` is dead.

    Dead: its file has not been touched for ``stale_after`` seconds (a live claim is touched
    every :data:`incipoly.stores.claims.HEARTBEAT_S`; this also covers a pid reused by another process),
    or it ran on this host and its pid is gone.

    Parameters
    ----------
    host : str
    pid : int
    mtime : float
        When the file was last touched (seconds since the epoch).
    stale_after : float

    Returns
    -------
    bool

    Examples
    --------
    >>> import os, time
    >>> from incipoly.stores.files import HOST, writer_dead
    >>> writer_dead(HOST, os.getpid(), time.time()), writer_dead(HOST, os.getpid(), 0.0)
    (False, True)
    """
    if time.time() - mtime > stale_after:
        return True
    return host == HOST and not pid_alive(pid)


def atomic_write(target: Path, write, text=False):
    """Write through a temporary file in the same directory, then rename over ``target``.

    The temporary file is ``.<name>.<host>_<pid>_<token>.tmp``, so :func:`clean_stale_temps`
    can tell whether its writer is still alive; it is removed if ``write`` fails.

    Parameters
    ----------
    target : pathlib.Path
    write : callable
        ``write(f)`` writes the content to the open file ``f``.
    text : bool
        Open ``f`` in text mode (else binary).

    Examples
    --------
    >>> from pathlib import Path
    >>> from incipoly.stores.files import atomic_write
    >>> atomic_write(Path("note.txt"), lambda f: f.write("done"), text=True)
    >>> Path("note.txt").read_text()
    'done'
    """
    target = Path(target)
    tmp = target.with_name(f".{target.name}.{HOST}_{os.getpid()}_{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "w" if text else "wb", newline="" if text else None) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def clean_stale_temps(directory: Path) -> list:
    """Remove the temporary files of :func:`atomic_write` in ``directory`` whose writer is dead.

    Files of live writers (this host: their pid exists; other hosts: touched within
    :data:`STALE_AFTER_S`) are left alone.

    Parameters
    ----------
    directory : pathlib.Path

    Returns
    -------
    list of pathlib.Path
        The removed paths.

    Examples
    --------
    >>> from pathlib import Path
    >>> from incipoly.stores.files import clean_stale_temps
    >>> Path(".a.json.otherhost_1_abc.tmp").touch()
    >>> clean_stale_temps(Path("."))        # touched just now: its writer may be alive
    []
    """
    removed = []
    for tmp in Path(directory).glob(".*.tmp"):
        match = _TEMP.match(tmp.name)
        try:
            mtime = tmp.stat().st_mtime
        except FileNotFoundError:
            continue
        host, pid = (match["host"], int(match["pid"])) if match else ("", -1)
        if writer_dead(host, pid, mtime):
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
    return removed


def _cell(value, digits):
    if isinstance(value, (float, numbers.Real)) and not isinstance(value, numbers.Integral):
        return f"{value:.{digits}g}"
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    return value


def write_csv(path, table, digits: int = 10) -> Path:
    """Write ``table`` (column name → sequence, all of one length) to ``path`` atomically.

    Parameters
    ----------
    path : path-like
    table : mapping of str to sequence
        Columns in order; a list of row dicts converts with :func:`table_of_rows`.
    digits : int
        Significant digits of real numbers (``format(v, ".{digits}g")``); integers are written
        as integers, anything else (str, bool) as ``str``.

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> from incipoly.stores.files import write_csv
    >>> write_csv("t.csv", {"m": [4, 8], "mean": [0.25, 1 / 3]}, digits=3).read_text().split()
    ['m,mean', '4,0.25', '8,0.333']
    """
    path = Path(path)
    columns = list(table)

    def write(f):
        writer = csv.writer(f)
        writer.writerow(columns)
        for row in zip(*(table[c] for c in columns), strict=True):
            writer.writerow([_cell(v, digits) for v in row])

    atomic_write(path, write, text=True)
    return path


def table_of_rows(rows, columns=None) -> dict:
    """Columns ``{name: [row[name] for row in rows]}`` of a list of dicts (``columns``: the first
    row's keys by default).

    Parameters
    ----------
    rows : list of dict
    columns : sequence of str, optional

    Returns
    -------
    dict of str to list

    Examples
    --------
    >>> from incipoly.stores.files import table_of_rows
    >>> table_of_rows([{"n": 3, "m": 4}, {"n": 3, "m": 8}])
    {'n': [3, 3], 'm': [4, 8]}
    """
    columns = list(rows[0]) if columns is None else list(columns)
    return {c: [r[c] for r in rows] for c in columns}


__all__ = ["HOST", "STALE_AFTER_S", "atomic_write", "clean_stale_temps", "pid_alive", "writer_dead",
           "write_csv", "table_of_rows"]
