"""Running the installed ``advalidate`` console script in a subprocess, with this checkout's code, plug-ins
declared in temporary dist-infos, and optionally some libraries made to look uninstalled."""

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
AUTOGRAD_PLUGIN = ROOT / "plugins" / "advalidate-autograd"

BLOCKER = """
import importlib.abc, sys

class _NotInstalled(importlib.abc.MetaPathFinder):
    # makes {blocked} look uninstalled: importing them fails as it does where they are absent
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {blocked!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None

sys.meta_path.insert(0, _NotInstalled())
"""


def advalidate_command() -> list[str]:
    """The console script installed next to this Python (what a user types), or ``python -m advalidate.cli``."""
    script = Path(sys.executable).with_name("advalidate")
    if script.exists():
        return [str(script)]
    found = shutil.which("advalidate")
    return [found] if found else [sys.executable, "-m", "advalidate.cli"]


def environment(tmp_path, *paths, blocked=()) -> dict:
    """os.environ with this checkout (and ``paths``) first on PYTHONPATH; ``blocked`` modules made uninstalled."""
    extra = [str(p) for p in paths]
    if blocked:
        site = tmp_path / "blocker"
        site.mkdir(exist_ok=True)
        (site / "sitecustomize.py").write_text(textwrap.dedent(BLOCKER.format(blocked=tuple(blocked))))
        extra.insert(0, str(site))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(extra + [str(ROOT), str(AUTOGRAD_PLUGIN)]))
    env.pop("ADVALIDATE_DISABLE_PLUGINS", None)
    return env


def run(args, env, cwd, timeout=300) -> subprocess.CompletedProcess:
    return subprocess.run(advalidate_command() + list(args), capture_output=True, text=True, env=env, cwd=cwd,
                          timeout=timeout)


def install_planted(root: Path, fixed: bool = False) -> Path:
    """A dist-info under ``root`` declaring the planted backends of ``tests/planted_backends.py`` as entry points
    (their fixed versions, under the same names, when ``fixed``): what a user has after ``pip install``-ing a
    plug-in, and after upgrading to the release that fixed it."""
    from .helpers import install_fake_distribution
    from .planted_backends import FIXED, PLANTED

    classes = FIXED if fixed else PLANTED
    return install_fake_distribution(root, "planted-backends",
                                     {name: f"tests.planted_backends:{cls.__name__}" for name, cls in classes.items()},
                                     {})


def results(path) -> dict:
    """A results.json, checked against the schema."""
    from advalidate.results import load, validate

    data = load(path)
    validate(data)
    return data
