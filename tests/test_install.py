"""A normal install: the wheel, in a fresh virtualenv, answers from another directory.

Offline: the wheel is built with this environment's setuptools (no build isolation) and installed without
its dependencies, which the fresh venv then finds in this test environment's site-packages.
"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
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


@pytest.mark.slow
def test_the_wheel_installed_in_a_fresh_venv_answers_from_another_directory(tmp_path: Path) -> None:
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

    target = tmp_path / "venv"
    venv.create(target, with_pip=False)
    python = target / "bin" / "python"
    run(sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-deps", wheel, cwd=tmp_path)
    site = Path(
        run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=tmp_path).stdout.strip()
    )
    (site / "test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {"PATH": f"{target / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path), "LANG": "C.UTF-8"}
    where = run(
        python,
        "-c",
        "import bot, retrieval.resources as r; print(bot.__file__); print(r.LEXICON_DIR)",
        cwd=elsewhere,
        env=env,
    ).stdout.splitlines()
    assert all(line.startswith(str(site)) for line in where), where  # the installed copy, not the checkout

    answer = run(target / "bin" / "speechbot", "ask", "区长质量奖的奖金是多少", cwd=elsewhere, env=env)
    assert "50万" in answer.stdout
    assert (elsewhere / "var" / "speechbot.sqlite3").is_file()  # the store's documented default
    listed = run(target / "bin" / "speechbot", "speeches", cwd=elsewhere, env=env).stdout.splitlines()
    assert len(listed) == 25  # the bundled corpus, installed with the package
