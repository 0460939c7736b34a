"""A normal install: the wheel, in a fresh virtualenv, answers from another directory.

Offline: the wheel is built with this environment's setuptools (no build isolation) and installed without
its dependencies, which the fresh venv then finds in this test environment's site-packages.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NEW_SPEECH = (
    "全县计量工作会议讲话\n同志们：\n"
    "今年我们要在全县推广智慧计量监管平台，对加油机、电子秤实施远程在线监测，"
    "计划年内接入计量器具三千二百台，实现强制检定全覆盖。\n"
)
PACKAGES = [
    "bot",
    "bot.handlers",
    "bot.harness",
    "bot.view",
    "retrieval",
    "retrieval.ingest",
    "retrieval.lexical",
    "retrieval.semantic",
    "retrieval.ranking",
    "retrieval.offline",
    "retrieval.storage",
]


def run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    if env is None:  # a PYTHONPATH to a checkout (and the egg-info a build leaves there) would pass for an install
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done


def test_every_code_package_is_listed_for_the_wheel() -> None:
    found = sorted(
        ".".join(p.parent.relative_to(ROOT).parts)
        for p in ROOT.glob("*/**/__init__.py")
        if p.parent.relative_to(ROOT).parts[0] in ("bot", "retrieval")
    )
    assert found == sorted(PACKAGES)
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert all(f'"{name}"' in pyproject for name in PACKAGES)


def installed(tmp_path: Path, wheel: Path, name: str) -> tuple[Path, Path]:
    """A fresh virtualenv with the wheel (its dependencies found in this test environment): bin/, site-packages."""
    target = tmp_path / name
    venv.create(target, with_pip=False)
    python = target / "bin" / "python"
    run(sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-deps", wheel, cwd=tmp_path)
    site = Path(
        run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=tmp_path).stdout.strip()
    )
    (site / "test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    return target / "bin", site


def files_under(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if "__pycache__" not in p.parts)


@pytest.mark.slow
def test_the_wheel_keeps_data_in_the_user_data_folder_and_a_new_venv_serves_an_added_speech(tmp_path: Path) -> None:
    """pip install . → speechbot add → a second fresh venv still serves the speech after reindex; nothing is
    written under the installed package or the working directory."""
    wheels = tmp_path / "wheels"
    run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--quiet",
        "--no-deps",
        "--no-build-isolation",
        "-w",
        wheels,
        ROOT,
        cwd=tmp_path,
    )
    (wheel,) = wheels.glob("speechbot-*.whl")
    first, site = installed(tmp_path, wheel, "venv")
    shipped = files_under(site / "speechbot_data")

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    home = tmp_path / "home"
    env = {"PATH": f"{first}:/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8"}
    where = run(
        first / "python",
        "-c",
        "import bot, retrieval.resources as r; print(bot.__file__); print(r.LEXICON_DIR)",
        cwd=elsewhere,
        env=env,
    ).stdout.splitlines()
    assert all(line.startswith(str(site)) for line in where), where  # the installed copy, not the checkout

    answer = run(first / "speechbot", "ask", "区长质量奖的奖金是多少", cwd=elsewhere, env=env)
    assert "50万" in answer.stdout
    data_home = home / ".local" / "share" / "speechbot"
    assert (data_home / "speechbot.sqlite3").is_file() and len(list((data_home / "corpus").glob("*.txt"))) == 5
    (elsewhere / "jiliang.txt").write_text(NEW_SPEECH, encoding="utf-8")
    added = run(first / "speechbot", "add", "jiliang.txt", cwd=elsewhere, env=env)
    assert "全县计量工作会议讲话" in added.stdout
    assert (data_home / "corpus" / "jiliang.txt").is_file()
    assert files_under(site / "speechbot_data") == shipped  # nothing written under the installed package
    assert sorted(p.name for p in elsewhere.iterdir()) == ["jiliang.txt"]  # nor where the command ran

    second, _ = installed(tmp_path, wheel, "second-venv")
    env = {**env, "PATH": f"{second}:/usr/bin:/bin"}
    elsewhere_again = tmp_path / "another-directory"
    elsewhere_again.mkdir()
    run(second / "speechbot", "reindex", cwd=elsewhere_again, env=env)
    listed = run(second / "speechbot", "speeches", cwd=elsewhere_again, env=env).stdout.splitlines()
    assert len(listed) == 26 and any("jiliang.txt" in line for line in listed)
    answer = run(second / "speechbot", "ask", "智慧计量监管平台接入多少台计量器具", cwd=elsewhere_again, env=env)
    assert "三千二百台" in answer.stdout
