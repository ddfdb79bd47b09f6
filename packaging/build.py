"""Build the Quillpad desktop binary: ``python packaging/build.py``.

Runs PyInstaller on ``packaging/quillpad.spec`` (a one-folder build in
``dist/quillpad/``), then packs the folder into the release archive
``dist/quillpad-<version>-<os>-<arch>.tar.gz`` (``.zip`` on Windows).
Run it with the Python of an environment where Quillpad is installed with the
``dev`` extra (``pip install -e ".[dev]"``): the binary bundles exactly the
llama-cpp-python build of that environment (CPU, CUDA, Metal or Vulkan).
"""

from __future__ import annotations

import argparse
import platform
import re
import shutil
import sys
import tarfile
import time
import zipfile
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "packaging" / "quillpad.spec"
NAME = "quillpad"
# Shipped next to the Linux binary: the menu entry, its icons and the installer.
LINUX_FILES = ("quillpad.desktop", "quillpad.svg", "quillpad.png", "install.sh")


def platform_tag() -> str:
    """``linux-x86_64``, ``windows-amd64``, ``macos-arm64``..."""
    system = {"darwin": "macos", "win32": "windows"}.get(sys.platform, sys.platform.rstrip("0123456789"))
    return f"{system}-{platform.machine().lower()}"


def archive_path(dist: Path, version: str, variant: str = "") -> Path:
    """Where the release archive of ``version`` goes (``variant``: "cuda", "vulkan"... for GPU builds)."""
    suffix = ".zip" if sys.platform == "win32" else ".tar.gz"
    tag = platform_tag() + (f"-{variant}" if variant else "")
    return dist / f"{NAME}-{version}-{tag}{suffix}"


def make_archive(folder: Path, target: Path) -> Path:
    """Pack ``folder`` (its name kept as the top folder) into ``target``, keeping permissions and links."""
    target.unlink(missing_ok=True)
    if target.suffix == ".zip":
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(folder.rglob("*")):
                archive.write(path, path.relative_to(folder.parent))
    else:
        with tarfile.open(target, "w:gz", compresslevel=6) as archive:
            archive.add(folder, arcname=folder.name)
    return target


def build(dist: Path, work: Path, archive: bool = True, variant: str = "") -> tuple[Path, Path | None]:
    """Run PyInstaller; return the app folder and the archive (None when skipped)."""
    import PyInstaller.__main__

    PyInstaller.__main__.run([str(SPEC), "--noconfirm", "--log-level=WARN", f"--distpath={dist}", f"--workpath={work}"])
    folder = dist / NAME
    if sys.platform.startswith("linux"):
        for name in LINUX_FILES:
            shutil.copy2(ROOT / "packaging" / "linux" / name, folder / name)
    packed = archive_path(dist, metadata.version(NAME), variant) if archive else None
    if packed is not None:
        make_archive(folder, packed)
    return folder, packed


def folder_size(folder: Path) -> int:
    """Bytes of the files under ``folder`` (links not followed)."""
    return sum(p.lstat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def _variant(text: str) -> str:
    if not re.fullmatch(r"[a-z0-9]*", text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a variant name; use lower-case letters and digits.")
    return text


def main(argv: list[str] | None = None) -> int:
    """Command line of the build script."""
    parser = argparse.ArgumentParser(description="Build the Quillpad desktop binary (PyInstaller, one folder).")
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="output folder (default: dist/)")
    parser.add_argument("--work", type=Path, default=ROOT / "build", help="PyInstaller's work folder (default: build/)")
    parser.add_argument("--no-archive", action="store_true", help="skip the release archive")
    parser.add_argument(
        "--variant", type=_variant, default="", help="added to the archive's name for a GPU build: cuda, vulkan..."
    )
    args = parser.parse_args(argv)
    started = time.monotonic()
    folder, packed = build(args.dist.resolve(), args.work.resolve(), archive=not args.no_archive, variant=args.variant)
    seconds = time.monotonic() - started
    print(f"built {folder} ({folder_size(folder) / 1024**2:.0f} MiB) in {seconds:.0f} s")
    if packed is not None:
        print(f"archive {packed} ({packed.stat().st_size / 1024**2:.0f} MiB)")
    if not (folder / (NAME + (".exe" if sys.platform == "win32" else ""))).exists():
        print("build.py: PyInstaller did not produce the executable; see its output above.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
