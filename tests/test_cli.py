"""CLI argument parsing and the one-line error contract."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tickforge.cli import expand_range, parse_grid, parse_params, parse_when
from tickforge.errors import ConfigError, TickforgeError

TICKFORGE = [sys.executable, "-m", "tickforge.cli"]


def test_parse_params_types() -> None:
    assert parse_params(["fast=10", "x=0.5", "flag=true", "name=abc"]) == {
        "fast": 10,
        "x": 0.5,
        "flag": True,
        "name": "abc",
    }


def test_parse_params_rejects_missing_equals() -> None:
    with pytest.raises(ConfigError, match="key=value"):
        parse_params(["fast10"])


def test_grid_range_includes_stop() -> None:
    assert parse_grid(["fast=5:20:5", "slow=1,2,3"]) == {"fast": (5, 10, 15, 20), "slow": (1, 2, 3)}


def test_grid_float_range() -> None:
    assert expand_range("k", "0.5:1.5:0.5") == (0.5, 1.0, 1.5)


@pytest.mark.parametrize("spec", ["5:1:1", "1:5:0", "a:b"])
def test_grid_bad_ranges(spec: str) -> None:
    with pytest.raises(ConfigError):
        expand_range("fast", spec)


def test_parse_when_bad() -> None:
    with pytest.raises(ConfigError, match="ISO"):
        parse_when("31/01/2020")


def test_error_message_names_place() -> None:
    err = TickforgeError("bad price", file="a.csv", line=3, field="bid", hint="fix it")
    assert str(err) == "a.csv:3, field 'bid': bad price (fix it)"


def test_cli_user_error_is_one_line(tmp_path: Path) -> None:
    proc = subprocess.run(
        [*TICKFORGE, "backtest", "--lake", str(tmp_path), "-s", "X", "-p", "oops"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "key=value" in proc.stderr


def test_demo_refuses_a_folder_that_is_not_a_demo(tmp_path: Path) -> None:
    keep = tmp_path / "precious.txt"
    keep.write_text("mine")
    proc = subprocess.run([*TICKFORGE, "demo", "--dir", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "not a demo folder" in proc.stderr and "Traceback" not in proc.stderr
    assert keep.read_text() == "mine"
