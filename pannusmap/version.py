"""The code version stamped on every model, prediction and analysis."""

import functools
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


@functools.cache
def code_version():
    """Return `<package version>+<git commit>` (with `.dirty` for uncommitted changes) when known."""
    try:
        package = version("pannusmap")
    except PackageNotFoundError:
        package = "0+unknown"
    try:
        commit = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short=12", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return package
    return f"{package}+{commit}{'.dirty' if dirty else ''}"
