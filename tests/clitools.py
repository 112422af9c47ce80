"""Running the console script in process, for the CLI tests."""
from incipoly.cli import main


def run_cli(argv, capsys):
    """``main(argv)`` → (exit status, stdout, stderr); argparse's SystemExit gives the status.

    Whatever the input, the command must not print a Python traceback."""
    try:
        rc = main(argv)
    except SystemExit as exc:
        rc = exc.code
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return rc, out, err
