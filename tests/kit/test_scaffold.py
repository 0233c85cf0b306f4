"""``wagehub plugins new NAME`` writes a plugin that works as written: its own tests (the
conformance kit on its own sample) pass, and it builds into a wheel the hub discovers."""

from __future__ import annotations

import subprocess
import sys
import zipfile

import pytest
from click.testing import CliRunner

from hub.cli.plugins import new
from hub.cli.scaffold import names, render_plugin, write_plugin
from tests.kit.helpers import ROOT, run_pytest

FILES = {
    "setup.cfg", "pyproject.toml", "README.md", "routes.toml", "wagehub_kitdemo/__init__.py",
    "wagehub_kitdemo/mapping.py", "wagehub_kitdemo/samples/kitdemo-case.json",
    "wagehub_kitdemo/samples/bad/kitdemo-bad-status.json", "tests/test_conformance.py", "tests/test_mapping.py",
}


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    where = tmp_path_factory.mktemp("scaffold")
    result = CliRunner().invoke(new, ["kitdemo", "--dir", str(where)])
    assert result.exit_code == 0, result.output
    assert "wrote " in result.output and "entry point wagehub: kitdemo = wagehub_kitdemo" in result.output
    return where / "wagehub-kitdemo"


def test_it_writes_a_distribution(generated):
    written = {str(p.relative_to(generated)) for p in generated.rglob("*") if p.is_file()}
    assert written == FILES
    setup = (generated / "setup.cfg").read_text(encoding="utf-8")
    assert "name = wagehub-kitdemo" in setup
    assert "wagehub =\n    kitdemo = wagehub_kitdemo" in setup
    assert "wagehub_kitdemo = samples/*, samples/bad/*" in setup


def test_its_own_tests_pass(generated):
    run = run_pytest("-q", cwd=generated, pythonpath=[generated])
    out = run.stdout + run.stderr
    assert run.returncode == 0, out
    assert "9 passed" in out, out


def test_it_builds_and_the_hub_discovers_it(generated, tmp_path):
    wheels = tmp_path / "wheels"
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels),
                            str(generated)], capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stdout + build.stderr
    [wheel] = wheels.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        listed = archive.namelist()
        entry = archive.read(next(n for n in listed if n.endswith("entry_points.txt"))).decode()
    assert "wagehub_kitdemo/samples/kitdemo-case.json" in listed
    assert "[wagehub]\nkitdemo = wagehub_kitdemo" in entry
    site = tmp_path / "site"
    install = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site),
                              str(wheel)], capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stdout + install.stderr
    probe = ("from hub.contract.plugins import Registry, build_plugin_manager; r = Registry(build_plugin_manager(), {}); "
             "a = r.get('kitdemo'); print(a.name, a.info.version, r.is_enabled('kitdemo'))")
    found = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                           env={"PYTHONPATH": f"{site}:{ROOT}", "PATH": "/usr/bin:/bin"})
    assert found.stdout.strip() == "kitdemo 0.1.0 True", found.stdout + found.stderr


@pytest.mark.parametrize("name", ["", "MyAgency", "1agency", "my-agency", "a" * 33, "x/../y"])
def test_a_name_that_is_no_agency_code_is_refused(name, tmp_path):
    result = CliRunner().invoke(new, [name, "--dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "must be an agency code" in result.output
    assert list(tmp_path.iterdir()) == []


def test_it_never_overwrites(tmp_path):
    write_plugin("kitdemo", tmp_path)
    result = CliRunner().invoke(new, ["kitdemo", "--dir", str(tmp_path)])
    assert result.exit_code == 2 and "exists and is not empty" in result.output


def test_names():
    assert names("my_agency") == {"code": "my_agency", "code_upper": "MY_AGENCY", "dist": "wagehub-my-agency",
                                  "package": "wagehub_my_agency", "hub_version": names("x")["hub_version"]}
    assert set(render_plugin("my_agency")) == {f.replace("kitdemo", "my_agency") for f in FILES}


def test_wagehub_plugins_new_is_a_command():
    from hub.cli.main import main

    result = CliRunner().invoke(main, ["plugins", "new", "--help"])
    assert result.exit_code == 0, result.output
    assert "Write a working plugin for agency NAME" in result.output
