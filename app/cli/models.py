"""``quillpad models``: list, download, remove, verify and link models; switch offline mode."""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from typing import Any, TextIO

from app.cli.common import SubParsers
from app.core.errors import QuillpadError
from app.core.gguf_info import human_size
from app.core.models.download import Progress, set_hub_offline
from app.core.models.hardware import probe_hardware
from app.core.models.library import ModelLibrary, fit_dict
from app.core.models.starter import DESCRIPTION as STARTER_DESCRIPTION
from app.core.models.starter import STARTER_ID
from app.core.paths import app_paths
from app.core.settings import Settings, load_settings, save_settings


def add_parser(sub: SubParsers) -> None:
    """Register ``models`` and its actions on the main parser."""
    models = sub.add_parser(
        "models",
        help="list, download, remove and verify models; hardware fit; offline mode",
        description="Qwen3 models from the catalogue, installed GGUF files and the starter model.",
    )
    actions = models.add_subparsers(title="actions", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="installed models and the catalogue, with hardware fit")
    listing.add_argument("--json", action="store_true", help="print one JSON object")
    listing.add_argument("--ctx", type=int, help="judge the fit at this context length (default: the setting, or 8k)")
    listing.set_defaults(handler=run_list)
    download = actions.add_parser("download", help="download a catalogue model (resumes an interrupted one)")
    download.add_argument("id", help="catalogue ID, e.g. qwen3-8b or qwen3-8b-q5_k_m")
    download.add_argument("--timeout", type=float, default=30.0, help="seconds without data before giving up (30)")
    download.set_defaults(handler=run_download)
    remove = actions.add_parser("remove", help="delete a downloaded model (a linked file is only forgotten)")
    remove.add_argument("id")
    remove.set_defaults(handler=run_remove)
    verify = actions.add_parser("verify", help="check a downloaded model against the hub's sha256")
    verify.add_argument("id")
    verify.set_defaults(handler=run_verify)
    link = actions.add_parser("link", help="list a GGUF file from elsewhere among the installed models (not copied)")
    link.add_argument("file")
    link.set_defaults(handler=run_link)
    offline = actions.add_parser("offline", help="show or set offline mode (no network requests at all)")
    offline.add_argument("state", nargs="?", choices=["on", "off"])
    offline.set_defaults(handler=run_offline)


def _library() -> tuple[ModelLibrary, Settings]:
    paths = app_paths()
    settings = load_settings(paths).settings
    set_hub_offline(settings.models.offline)
    return ModelLibrary.from_settings(paths, settings), settings


def run_list(args: argparse.Namespace) -> int:
    """Print installed models, then the catalogue, each with its fit label."""
    library, settings = _library()
    hardware = probe_hardware()
    context = args.ctx or settings.engine.context_length
    installed = library.installed()
    rows = library.catalogue_rows(hardware, context)
    fits = {m.id: library.installed_fit(m, hardware, context) for m in installed}
    if args.json:
        data: dict[str, Any] = {
            "models_dir": str(library.folder),
            "offline": library.offline,
            "hardware": hardware.__dict__,
            "installed": [{**m.to_dict(), "fit": fit_dict(fit) if (fit := fits[m.id]) else None} for m in installed],
            "catalogue": [row.to_dict() for row in rows],
        }
        print(json.dumps(data, indent=2))
        return 0
    print(f"Models folder: {library.folder}" + ("  (offline: downloads are off)" if library.offline else ""))
    print(f"This computer: {hardware.describe()}")
    print("\nInstalled:")
    if not installed:
        print("  none yet: `quillpad models download qwen3-8b` (16 GB RAM) or qwen3-1.7b (8 GB)")
    for model in installed:
        fit = fits[model.id]
        label = f"[{fit.label.value}]" if fit else "[fit unknown]"
        print(f"  {model.id:<26} {human_size(model.size):>9}  {label:<16} {model.source}: {model.path}")
        if model.note:
            print(f"  {'':<26} {model.note}")
        if model.id == STARTER_ID:
            print(f"  {'':<26} {STARTER_DESCRIPTION}")
    print("\nCatalogue (Qwen3, Apache-2.0; * = recommended quantisation):")
    for row in rows:
        mark = "*" if row.entry.is_default else " "
        state = "installed" if row.installed else ""
        if row.partial_bytes and not row.installed:
            state = f"partial {human_size(row.partial_bytes)}"
        print(
            f" {mark}{row.entry.id:<26} {human_size(row.entry.approx_size):>9}  RAM ~{row.entry.file.ram_gb:>4.1f} GB  "
            f"[{row.fit.label.value}] {state}"
        )
        if row.entry.is_default:
            print(f"  {'':<26} {row.entry.model.recommendation}")
    return 0


class _ProgressLine:
    """A progress line on stderr: rewritten in place on a terminal, every 10 % otherwise."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.last_decile = -1
        self.last_phase = ""

    def __call__(self, report: Progress) -> None:
        if self.tty:
            self.stream.write("\r\033[K" + report.line())
            if report.phase == "done":
                self.stream.write("\n")
        else:
            decile = int(report.fraction * 10)
            if report.phase != self.last_phase or decile != self.last_decile:
                self.stream.write(report.line() + "\n")
            self.last_decile, self.last_phase = decile, report.phase
        self.stream.flush()


def run_download(args: argparse.Namespace) -> int:
    """Download one catalogue file with a progress line; Ctrl+C keeps what arrived."""
    library, _ = _library()
    entry = library.catalogue.resolve(args.id)
    downloader = library.downloader(read_timeout=args.timeout)
    downloader.check_allowed()
    print(f"Downloading {entry.file.filename} from {entry.model.repo} into {library.folder}", file=sys.stderr)
    cancel = threading.Event()
    started = time.monotonic()
    try:
        path = downloader.download(entry, _ProgressLine(sys.stderr), cancel)
    except KeyboardInterrupt:
        kept = downloader.partial_size(entry)
        raise QuillpadError(
            f"Interrupted; the {human_size(kept)} downloaded are kept, and the same command continues from there."
        ) from None
    print(f"Installed {entry.id}: {path} ({time.monotonic() - started:.1f} s)")
    return 0


def run_remove(args: argparse.Namespace) -> int:
    library, _ = _library()
    model = library.remove(args.id)
    what = "Forgot the link to" if model.source == "linked" else "Deleted"
    print(f"{what} {model.path}")
    return 0


def run_verify(args: argparse.Namespace) -> int:
    library, _ = _library()
    model = library.verify(args.id)
    print(f"{model.id}: sha256 {model.sha256} matches ({model.path})")
    return 0


def run_link(args: argparse.Namespace) -> int:
    from app.core.gguf_info import inspect_model

    library, _ = _library()
    info = inspect_model(args.file, check_loadable=False)  # refuses a file that is not a usable GGUF
    library.link(info.path)
    print(f"Linked {info.path} ({info.display_name}); it stays where it is.")
    return 0


def run_offline(args: argparse.Namespace) -> int:
    paths = app_paths()
    loaded = load_settings(paths)
    settings = loaded.settings
    if args.state is not None:
        if loaded.read_only:
            raise QuillpadError("The settings file cannot be written now (see the notice when the app starts).")
        settings.models.offline = args.state == "on"
        save_settings(paths, settings)
    state = "on: no network requests, downloads refused" if settings.models.offline else "off: downloads allowed"
    print(f"Offline mode is {state}.")
    return 0
