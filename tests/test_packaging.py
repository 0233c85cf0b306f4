"""What ships inside the package: the defaults, the routes and every plugin's samples are
package data, read with importlib.resources, so an installed wheel runs from any folder."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

import hub
from hub.cli.main import main
from hub.config import DEFAULTS, load_settings, routes_path
from hub.messaging.routes import load_routes

ROOT = Path(__file__).resolve().parent.parent


def test_the_defaults_and_their_routes_are_read_from_the_package(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # nothing is read from the working directory
    routes = routes_path(load_settings(environ={}))
    assert routes == Path(hub.__file__).resolve().parent / "defaults" / "routes.toml"
    assert {r.name for r in load_routes(routes)} >= {"transfer-to-police", "clue-to-union"}


def test_routes_file_is_read_beside_the_file_that_names_it(tmp_path, monkeypatch):
    site = tmp_path / "etc"
    site.mkdir()
    (site / "site-routes.toml").write_text((DEFAULTS / "routes.toml").read_text(encoding="utf-8"), encoding="utf-8")
    (site / "wagehub.toml").write_text('[hub]\nroutes_file = "site-routes.toml"\n', encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    settings = load_settings(environ={"WAGEHUB_CONFIG": str(site / "wagehub.toml")})
    assert routes_path(settings) == site / "site-routes.toml"
    # Named by the environment (no file names it), it is read from the working directory.
    settings = load_settings(environ={"WAGEHUB_CONFIG": str(site / "wagehub.toml"),
                                      "WAGEHUB_ROUTES_FILE": "mine.toml"})
    assert routes_path(settings).resolve() == elsewhere / "mine.toml"


def test_config_init_writes_a_file_that_loads_as_the_packaged_defaults(tmp_path):
    runner = CliRunner()
    result = runner.invoke(main, ["config", "init", str(tmp_path / "conf")])
    assert result.exit_code == 0, result.output
    written = tmp_path / "conf" / "wagehub.toml"
    assert f"WAGEHUB_CONFIG={written.resolve()}" in result.output
    assert (tmp_path / "conf" / "routes.toml").read_text(encoding="utf-8") == \
        (DEFAULTS / "routes.toml").read_text(encoding="utf-8")
    mine = load_settings(environ={"WAGEHUB_CONFIG": str(written)})
    packaged = load_settings(environ={})
    assert routes_path(mine) == (tmp_path / "conf" / "routes.toml").resolve()
    mine["hub"].pop("routes_file"), packaged["hub"].pop("routes_file")
    assert mine == packaged
    again = runner.invoke(main, ["config", "init", str(tmp_path / "conf")])
    assert again.exit_code == 2 and "already there" in again.output


def _data_files(package: Path) -> set[str]:
    return {str(p.relative_to(ROOT)) for p in package.rglob("*")
            if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts}


def test_the_wheel_holds_every_data_file_of_the_packages(tmp_path):
    pytest.importorskip("build")
    # The sdist, then the wheel built from it (as CI does; nothing is built inside the checkout).
    proc = subprocess.run([sys.executable, "-m", "build", "--outdir", str(tmp_path), str(ROOT)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    (wheel,) = tmp_path.glob("*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
    expected = set().union(*(_data_files(ROOT / top) for top in ("hub", "plugins", "schemas")))
    assert {"hub/defaults/default.toml", "hub/defaults/routes.toml", "hub/defaults/demo.toml"} <= expected
    assert any(name.startswith("plugins/union/samples/") for name in expected)
    assert sorted(expected - names) == []
