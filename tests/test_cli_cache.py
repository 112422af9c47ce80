"""``incipoly cache info|clear`` reports and empties the directory of ip.cache_dir()."""
import incipoly as ip

from clitools import run_cli


def test_cache_info_and_clear(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("INCIPOLY_CACHE_DIR", str(tmp_path / "cache"))
    assert ip.cache_dir() == tmp_path / "cache"
    rc, out, _ = run_cli(["cache", "info"], capsys)
    assert rc == 0 and "not created yet" in out and "cached files     0" in out
    for name in ("k1/a.nbi", "k1/a.nbc", "k2/b.nbi"):
        (tmp_path / "cache" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "cache" / name).write_bytes(b"x" * 10)
    rc, out, _ = run_cli(["cache", "info"], capsys)
    assert rc == 0 and "cached files     3" in out and "not created" not in out
    rc, out, _ = run_cli(["cache", "clear"], capsys)
    assert rc == 0 and "removed 3 cached kernel files" in out
    assert not any(p.is_file() for p in (tmp_path / "cache").rglob("*"))
    rc, out, _ = run_cli(["cache", "clear"], capsys)
    assert rc == 0 and "removed 0 cached kernel files" in out


def test_cache_unknown_action_is_a_usage_error(capsys):
    rc, _, err = run_cli(["cache", "purge"], capsys)
    assert rc == 2 and "invalid choice: 'purge'" in err
