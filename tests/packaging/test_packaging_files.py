"""The binary's build files, checked without building: spec, menu entry, icons, archive."""

from __future__ import annotations

import ast
import configparser
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path
from types import ModuleType

from PySide6.QtGui import QImage

from tests.packaging.conftest import PACKAGING, ROOT

LINUX = PACKAGING / "linux"


def _spec_list(name: str) -> list[str]:
    """A literal list assigned in the spec (read, not run: running it needs PyInstaller's globals)."""
    tree = ast.parse((PACKAGING / "quillpad.spec").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            value = ast.literal_eval(node.value)
            assert isinstance(value, list)
            return value
    raise AssertionError(f"the spec assigns no {name}")


def test_spec_excludes_nothing_the_app_imports() -> None:
    excludes = set(_spec_list("excludes"))
    imported: set[str] = set()
    for source in [*(ROOT / "app").rglob("*.py"), *(ROOT / "plugins").rglob("*.py")]:
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imported.add(node.module)
            elif isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
    # Every prefix counts: excluding "PySide6.QtQml" would break "PySide6.QtQml.Sub".
    prefixes = {".".join(name.split(".")[: i + 1]) for name in imported for i in range(name.count(".") + 1)}
    assert "PySide6.QtWebEngineWidgets" in prefixes  # the scan itself works
    assert not excludes & prefixes


def test_spec_builds_one_folder_named_like_the_menu_entry() -> None:
    text = (PACKAGING / "quillpad.spec").read_text()
    assert "exclude_binaries=True" in text and "COLLECT(" in text  # one folder, not one file
    assert re.search(r'name="quillpad"', text)
    assert 'copy_metadata("quillpad", recursive=True)' in text  # the built-in plugins' entry points
    assert 'collect_dynamic_libs("llama_cpp")' in text


def test_desktop_file_is_valid_and_names_the_shipped_icon() -> None:
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    entry.read(LINUX / "quillpad.desktop", encoding="utf-8")
    section = entry["Desktop Entry"]
    assert section["Type"] == "Application" and section["Name"] == "Quillpad"
    assert section["Exec"].split()[0] == "quillpad" == section["TryExec"]
    assert section["Terminal"] == "false"
    assert (LINUX / f"{section['Icon']}.svg").is_file() and (LINUX / f"{section['Icon']}.png").is_file()
    assert section["Categories"].endswith(";")
    validator = shutil.which("desktop-file-validate")
    if validator:  # the freedesktop.org checker, where it is installed
        result = subprocess.run([validator, str(LINUX / "quillpad.desktop")], capture_output=True, text=True)
        assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


def test_icons_are_square_pictures() -> None:
    for path, size in ((LINUX / "quillpad.png", 256), (PACKAGING / "windows" / "quillpad.ico", 256)):
        image = QImage(str(path))
        assert (image.width(), image.height()) == (size, size), path
    assert "<svg" in (LINUX / "quillpad.svg").read_text()


def test_install_script_puts_the_program_and_menu_entry_in_place(tmp_path: Path) -> None:
    unpacked = tmp_path / "unpacked" / "quillpad"
    unpacked.mkdir(parents=True)
    for name in ("quillpad.desktop", "quillpad.svg", "quillpad.png", "install.sh"):
        shutil.copy2(LINUX / name, unpacked / name)
    (unpacked / "quillpad").write_text("#!/bin/sh\necho binary\n")
    (unpacked / "quillpad").chmod(0o755)
    prefix = tmp_path / "prefix"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PREFIX": str(prefix)}
    result = subprocess.run(["sh", str(unpacked / "install.sh")], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    program = prefix / "lib" / "quillpad" / "quillpad"
    assert subprocess.run([prefix / "bin" / "quillpad"], capture_output=True, text=True).stdout == "binary\n"
    desktop = (prefix / "share" / "applications" / "quillpad.desktop").read_text()
    assert f"Exec={program}\n" in desktop and f"TryExec={program}\n" in desktop
    assert (prefix / "share" / "icons" / "hicolor" / "scalable" / "apps" / "quillpad.svg").is_file()
    result = subprocess.run(["sh", str(unpacked / "install.sh"), "--uninstall"], capture_output=True, env=env)
    assert result.returncode == 0
    assert not program.exists() and not (prefix / "bin" / "quillpad").exists()


def test_release_archive_keeps_permissions_and_links(build_script: ModuleType, tmp_path: Path) -> None:
    folder = tmp_path / "dist" / "quillpad"
    (folder / "_internal").mkdir(parents=True)
    (folder / "quillpad").write_text("#!/bin/sh\n")
    (folder / "quillpad").chmod(0o755)
    (folder / "_internal" / "libx.so.1").write_bytes(b"\x7fELF")
    (folder / "_internal" / "libx.so").symlink_to("libx.so.1")
    target = build_script.archive_path(tmp_path / "dist", "1.2.3")
    if sys.platform.startswith("linux"):
        assert target.name == f"quillpad-1.2.3-linux-{build_script.platform.machine().lower()}.tar.gz"
    build_script.make_archive(folder, target)
    with tarfile.open(target) as archive:
        members = {m.name: m for m in archive.getmembers()}
    assert members["quillpad/quillpad"].mode & 0o111
    assert members["quillpad/_internal/libx.so"].issym()
    assert members["quillpad/_internal/libx.so"].linkname == "libx.so.1"


def test_pyinstaller_comes_with_the_dev_extra() -> None:
    # CI installs only what the project's own files name; the slow test needs PyInstaller.
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    dev = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["dev"]
    assert any(re.fullmatch(r"pyinstaller>=6\.\d+,<7", requirement) for requirement in dev)
