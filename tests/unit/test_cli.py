"""The CLIs as a user runs them: subprocesses, exit codes, what they print."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.net import free_port

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
# scripts/ holds user CLIs only (benchmarks/ and tools/ hold the rest): every program in it is one.
CLIS = sorted(p.name for p in SCRIPTS.glob("*.py"))


def cli(*args, cwd=None):
    return subprocess.run([sys.executable, *args], capture_output=True, text=True,
                          timeout=300, cwd=cwd)


@pytest.mark.parametrize("script", CLIS)
def test_every_cli_has_help(script):
    out = cli(str(SCRIPTS / script), "--help")
    assert out.returncode == 0
    assert "--tracking-uri" in out.stdout


def test_unreachable_server_names_uri_and_how_to_start_stack():
    uri = f"http://127.0.0.1:{free_port()}"
    out = cli(str(SCRIPTS / "train_wine.py"), "--tracking-uri", uri)
    assert out.returncode == 2
    assert f"MLflow tracking server at {uri} is not reachable" in out.stderr
    assert "docker compose up -d" in out.stderr
    assert "Traceback" not in out.stderr


def test_train_register_promote_list_from_the_command_line(tracking_uri, tmp_path):
    for alias, alpha in (("production", "0.5"), ("staging", "0.1")):
        out = cli(str(SCRIPTS / "train_wine.py"), "--tracking-uri", tracking_uri,
                  "--alpha", alpha, "--register", "wine", "--alias", alias, cwd=tmp_path)
        assert out.returncode == 0, out.stderr
        assert f"alias set: models:/wine@{alias}" in out.stdout
        assert "rmse = " in out.stdout

    out = cli(str(SCRIPTS / "registry.py"), "--tracking-uri", tracking_uri, "promote", "wine")
    assert out.returncode == 0, out.stderr
    assert "wine@production → version 2" in out.stdout

    out = cli(str(SCRIPTS / "registry.py"), "--tracking-uri", tracking_uri, "--json", "list")
    [model] = json.loads(out.stdout)
    assert model["aliases"] == {"production": "2", "staging": "2"}

    out = cli(str(SCRIPTS / "registry.py"), "--tracking-uri", tracking_uri,
              "delete-alias", "wine", "canary")
    assert out.returncode == 2
    assert "alias 'canary' not set on model 'wine'" in out.stderr
