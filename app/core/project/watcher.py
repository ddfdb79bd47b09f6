"""Watching a project folder and handing its changes over in debounced batches.

A mechanism (``watch_mechanisms``: our own inotify tree, watchdog's standard
observer, polling) reports changed paths; this drops ignored ones and
collects them until the folder has been quiet for ``debounce`` seconds (or
``max_delay`` has passed since the first one), then hands the whole set to
``apply`` on its own thread. A ``git checkout`` touching thousands of files
therefore becomes one batch. Batches that grow huge, a changed
``.gitignore``, lost events and a switch of mechanism become one full check
instead (``Batch.full``), which compares the whole folder with the index.

A mechanism is trusted only once it has proved itself: right after it starts,
a probe file is written in a private temporary folder that it also watches,
and its event must arrive within ``PROBE_TIMEOUT``. One that fails to start
or stays silent is stopped and the next is tried; the user is told once
(``on_notice`` and the log). This runs on the watcher's thread, so opening a
project never waits for it. When the system's watch limit is reached, at once
or later, the watcher polls every ``poll_interval`` seconds and says so once.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from app.core.project.ignore import IgnoreRules, is_rules_file
from app.core.project.inotify_tree import WatchLimitError
from app.core.project.watch_mechanisms import (
    Mechanism,
    MechanismFactory,
    MechanismOptions,
    default_mechanisms,
)

log = logging.getLogger(__name__)

DEFAULT_DEBOUNCE = 0.2
DEFAULT_MAX_DELAY = 2.0
DEFAULT_POLL_INTERVAL = 1.0
# How long a mechanism may take to report the probe file before it is taken for dead.
PROBE_TIMEOUT = 1.0
# Past this many pending paths a full check is cheaper than remembering them all.
MAX_PENDING_PATHS = 20_000

LIMIT_NOTICE = (
    "The system's limit on watched folders was reached, so Quillpad now checks this project for changes every "
    "{interval:g} seconds instead of at once; raising fs.inotify.max_user_watches restores instant updates."
)
FALLBACK_NOTICE = (
    "{failed} {why}, so changes to this project are now noticed through {used} instead; "
    "updates may be slower (details in the log)."
)
POLLING_FALLBACK_NOTICE = (
    "No file watcher works for this project ({why}), so Quillpad checks it for changes every {interval:g} seconds "
    "instead of at once; a network or FUSE file system often causes this."
)
NO_WATCHING_NOTICE = (
    "Quillpad cannot watch {root} for changes ({why}); the index is updated only when the project is opened again."
)
ROOT_GONE_NOTICE = "The project folder {root} was deleted or moved; reopen it to use it as context again."


@dataclass(frozen=True)
class Attempt:
    """One mechanism tried while starting: its name, and why it was not used ("" when it was)."""

    name: str
    description: str
    problem: str = ""
    probe_seconds: float | None = None  # how long the probe's event took (None: not probed)


def _failed(mechanism: Mechanism, problem: str) -> Attempt:
    return Attempt(mechanism.name, mechanism.description, problem)


@dataclass
class Batch:
    """Changed paths (relative) since the last batch, or ``full`` for a check of everything."""

    files: set[str] = field(default_factory=set)
    dirs: set[str] = field(default_factory=set)
    full: bool = False
    rules_changed: bool = False
    root_gone: bool = False

    def __bool__(self) -> bool:
        return bool(self.files or self.dirs or self.full or self.root_gone)


class ProjectWatcher:
    """Watches one project root; ``apply`` receives each debounced ``Batch`` on the watcher's thread."""

    def __init__(
        self,
        root: Path,
        rules: IgnoreRules,
        apply: Callable[[Batch], None],
        *,
        debounce: float = DEFAULT_DEBOUNCE,
        max_delay: float = DEFAULT_MAX_DELAY,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        max_watches: int | None = None,
        force_polling: bool = False,
        on_notice: Callable[[str], None] | None = None,
        mechanisms: Sequence[MechanismFactory] | None = None,
        probe_parent: Path | None = None,
    ) -> None:
        """``mechanisms`` are tried in order (default: ``default_mechanisms()``; polling alone with
        ``force_polling``); probe folders are made in ``probe_parent`` (default: the system's temporary folder)."""
        self.root = root
        self.rules = rules
        self._apply = apply
        self.debounce = debounce
        self.max_delay = max_delay
        self.poll_interval = poll_interval
        self.max_watches = max_watches
        self._on_notice = on_notice
        chain = list(mechanisms) if mechanisms is not None else default_mechanisms()
        self._chain = chain[-1:] if force_polling else chain
        self._probe_parent = probe_parent
        self._root_str = os.fsdecode(root)
        self._cond = threading.Condition()
        self._pending = Batch()
        self._first_event = 0.0
        self._last_event = 0.0
        self._stopping = False
        self._limit_hit = False
        self._busy = False
        self._starting = False
        self._notified_limit = False
        self._mechanism: Mechanism | None = None
        self._mechanism_factory: MechanismFactory | None = None
        self._thread: threading.Thread | None = None
        self._probe_dir: str | None = None
        self._probe_seen = threading.Event()
        self.attempts: list[Attempt] = []  # how the last start went, mechanism by mechanism
        self.mode = "stopped"  # "starting", a mechanism's name ("inotify", "native", "polling") or "stopped"

    # --- lifecycle ------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Start watching (idempotent). Raises ``OSError`` only when the root is not a folder any more.

        Choosing and proving a mechanism happens on the watcher's thread; ``wait_idle`` waits for it.
        """
        with self._cond:
            if self._thread is not None:
                return
            if not os.path.isdir(self._root_str):
                raise FileNotFoundError(2, "No such folder", self._root_str)
            self._stopping = False
            self._starting = True
            self.mode = "starting"
            self._thread = threading.Thread(target=self._run, name="quillpad-project-watcher", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the mechanism and the batch thread and wait for both (idempotent)."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
            thread, self._thread = self._thread, None
        self._probe_seen.set()  # a running probe ends at once
        if thread is not None and thread is not threading.current_thread():
            thread.join()
        self._stop_mechanism()
        self.mode = "stopped"

    def request_full_check(self) -> None:
        """Queue a check of the whole folder (for example right after starting)."""
        self._add(full=True)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until nothing is pending or being applied; False if that did not happen within ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._pending or self._busy or self._limit_hit or self._starting:
                left = deadline - time.monotonic()
                if left <= 0 or self._stopping:
                    return False
                self._cond.wait(min(left, 0.05))
            return True

    @property
    def running(self) -> bool:
        """Whether the batch thread is running."""
        thread = self._thread
        return thread is not None and thread.is_alive()

    # --- choosing and proving a mechanism -------------------------------------------------------------------

    def _options(self) -> MechanismOptions:
        return MechanismOptions(
            root=self._root_str,
            changed=self._on_path,
            prune=self._prune,
            listdir=self._listdir,
            max_watches=self.max_watches,
            poll_interval=self.poll_interval,
            on_limit=self._watch_limit_later,
            on_overflow=self._events_lost,
        )

    def _establish(self, chain: Sequence[MechanismFactory]) -> None:
        """Start the first mechanism of ``chain`` that starts and proves itself; tell the user about a fallback."""
        attempts: list[Attempt] = []
        limit = False
        self.mode = "stopped"
        for number, factory in enumerate(chain):
            if self._stopping:
                break
            last = number == len(chain) - 1
            if limit and not last:
                continue  # every other mechanism needs watches too: go straight to polling
            mechanism = factory(self._options())
            try:
                mechanism.start()
            except WatchLimitError as err:
                log.warning("%s: watch limit reached for %s (%s)", mechanism.name, self.root, err)
                attempts.append(_failed(mechanism, "reached the system's limit on watched folders"))
                limit = True
                mechanism.stop()
                continue
            except OSError as err:
                log.warning("%s cannot watch %s: %s", mechanism.name, self.root, err)
                attempts.append(_failed(mechanism, f"could not start ({err.strerror or err})"))
                mechanism.stop()
                if not os.path.isdir(self._root_str):
                    break
                continue
            try:
                seconds = None if last else self._prove(mechanism)
            except WatchLimitError as err:  # the probe's own watch was one too many
                log.warning("%s: watch limit reached while proving it (%s)", mechanism.name, err)
                attempts.append(_failed(mechanism, "reached the system's limit on watched folders"))
                limit = True
                mechanism.stop()
                continue
            if self._stopping:
                mechanism.stop()
                break
            if not last and seconds is None:
                log.warning(
                    "%s delivered no event for a probe file within %g s; trying the next way to watch %s",
                    mechanism.name,
                    PROBE_TIMEOUT,
                    self.root,
                )
                attempts.append(_failed(mechanism, f"delivered no event within {PROBE_TIMEOUT:g} s"))
                mechanism.stop()
                continue
            attempts.append(Attempt(mechanism.name, mechanism.description, "", seconds))
            self._mechanism, self._mechanism_factory = mechanism, factory
            self.mode = mechanism.name
            break
        self.attempts = attempts
        if self._stopping:
            return
        if self._mechanism is None:
            log.error("cannot watch %s at all: %s", self.root, attempts)
        self._tell_fallback(attempts, limit)

    def _prove(self, mechanism: Mechanism) -> float | None:
        """Seconds until the probe file's event arrived, or None when none came within ``PROBE_TIMEOUT``."""
        try:
            folder = tempfile.mkdtemp(prefix="quillpad-watch-probe-", dir=self._probe_parent)
        except OSError as err:  # the data folder is read-only or full: the system's temporary folder will do
            log.info("cannot make a probe folder in %s (%s)", self._probe_parent, err)
            try:
                folder = tempfile.mkdtemp(prefix="quillpad-watch-probe-")
            except OSError as second:
                log.warning("cannot make a probe folder (%s); %s is not proved", second, mechanism.name)
                return None
        self._probe_seen.clear()
        self._probe_dir = folder
        started = time.perf_counter()
        try:
            mechanism.watch_extra(folder)
            Path(folder, "probe.txt").write_bytes(b"quillpad watch probe\n")
            seen = self._probe_seen.wait(PROBE_TIMEOUT) and not self._stopping
            return time.perf_counter() - started if seen else None
        except WatchLimitError:
            raise
        except OSError as err:
            log.warning("the probe of %s failed: %s", mechanism.name, err)
            return None
        finally:
            self._probe_dir = None
            with contextlib.suppress(OSError, KeyError):
                mechanism.unwatch_extra(folder)
            shutil.rmtree(folder, ignore_errors=True)

    def _tell_fallback(self, attempts: list[Attempt], limit: bool) -> None:
        failed = [a for a in attempts if a.problem]
        if not failed:
            return
        if limit:
            self._announce_limit()
            return
        first = failed[0]
        if self._mechanism is None:
            self._notice(NO_WATCHING_NOTICE.format(root=self.root, why=f"{first.description} {first.problem}"))
        elif self.mode == "polling":
            why = f"{first.description} {first.problem}"
            self._notice(POLLING_FALLBACK_NOTICE.format(why=why, interval=self.poll_interval))
        else:
            failed_name = first.description[:1].upper() + first.description[1:]
            self._notice(FALLBACK_NOTICE.format(failed=failed_name, why=first.problem, used=attempts[-1].description))

    def _notice(self, message: str) -> None:
        log.warning("%s: %s", self.root, message)
        if self._on_notice is not None:
            self._on_notice(message)

    def _stop_mechanism(self) -> None:
        mechanism, self._mechanism = self._mechanism, None
        if mechanism is not None:
            mechanism.stop()

    def _relative(self, path: str) -> str | None:
        if path.startswith(self._root_str) and path[len(self._root_str) : len(self._root_str) + 1] == os.sep:
            return path[len(self._root_str) + 1 :].replace(os.sep, "/")
        return None

    def _prune(self, path: str) -> bool:
        rel = self._relative(path)
        return rel is not None and self.rules.is_ignored(rel, is_dir=True)

    def _listdir(self, path: str | None) -> Iterator[os.DirEntry[str]]:
        """``os.scandir`` for the polling observer, leaving out links and ignored entries."""
        folder = path if path is not None else "."
        rel_dir = self._relative(folder)
        prefix = "" if rel_dir is None else rel_dir + "/"
        with os.scandir(folder) as entries:
            kept = []
            for entry in entries:
                try:
                    if entry.is_symlink():
                        continue
                    rel = prefix + entry.name
                    if entry.is_dir(follow_symlinks=False):
                        if self.rules.dir_ignored(rel):
                            continue
                    elif self.rules.file_ignored(rel):
                        continue
                except OSError:
                    continue
                kept.append(entry)
        return iter(kept)

    def _watch_limit_later(self) -> None:
        # Called on the mechanism's thread: switching mechanisms happens on ours.
        with self._cond:
            self._limit_hit = True
            self._cond.notify_all()

    def _events_lost(self) -> None:
        log.info("file events were lost in %s (the kernel's queue overflowed); checking everything", self.root)
        self.request_full_check()

    def _announce_limit(self) -> None:
        if self._notified_limit:
            return
        self._notified_limit = True
        self._notice(LIMIT_NOTICE.format(interval=self.poll_interval))

    def _switch_to_polling(self) -> None:
        self._stop_mechanism()
        self._announce_limit()
        self._establish(self._chain[-1:])
        self.request_full_check()  # events between the two mechanisms were lost

    def _restart_mechanism(self) -> None:
        """Start the mechanism in use again (its watches follow the ignore rules, which changed)."""
        factory = self._mechanism_factory
        self._stop_mechanism()
        if factory is None:
            return
        mechanism = factory(self._options())
        try:
            mechanism.start()
        except WatchLimitError:
            mechanism.stop()
            self._switch_to_polling()
            return
        except OSError:
            log.exception("cannot watch %s again", self.root)
            mechanism.stop()
            self.mode = "stopped"
            return
        self._mechanism = mechanism

    # --- events ---------------------------------------------------------------------------------------------

    def _on_path(self, path: str, is_dir: bool) -> None:
        """A mechanism saw ``path`` (absolute) change; called on the mechanism's thread."""
        probe = self._probe_dir
        if probe is not None and (path == probe or path.startswith(probe + os.sep)):
            if not is_dir:
                self._probe_seen.set()
            return
        files: set[str] = set()
        dirs: set[str] = set()
        full = rules_changed = root_gone = False
        if path == self._root_str:
            if not os.path.isdir(path):
                self._add(root_gone=True)
            return
        rel = self._relative(path)
        if rel is None:
            return
        if not is_dir and is_rules_file(rel):
            if self.rules.folder_reason(rel.rpartition("/")[0]) is None:
                rules_changed = full = True
        elif self.rules.is_ignored(rel, is_dir=is_dir):
            return
        else:
            (dirs if is_dir else files).add(rel)
        if files or dirs or full or root_gone:
            self._add(files, dirs, full=full, rules_changed=rules_changed, root_gone=root_gone)

    def _add(
        self,
        files: set[str] | None = None,
        dirs: set[str] | None = None,
        *,
        full: bool = False,
        rules_changed: bool = False,
        root_gone: bool = False,
    ) -> None:
        with self._cond:
            pending = self._pending
            now = time.monotonic()
            if not pending:
                self._first_event = now
            self._last_event = now
            pending.full |= full
            pending.rules_changed |= rules_changed
            pending.root_gone |= root_gone
            if not pending.full:
                pending.files |= files or set()
                pending.dirs |= dirs or set()
                if len(pending.files) + len(pending.dirs) > MAX_PENDING_PATHS:
                    pending.full = True
            if pending.full:
                pending.files.clear()
                pending.dirs.clear()
            self._cond.notify_all()

    # --- the batch thread -----------------------------------------------------------------------------------

    def _next_batch(self) -> Batch | None:
        """Wait for a quiet moment after some changes; None when stopping."""
        with self._cond:
            while True:
                if self._stopping:
                    return None
                if self._limit_hit:
                    return Batch()  # an empty batch: the loop switches mechanisms
                if self._pending:
                    now = time.monotonic()
                    due = min(self._last_event + self.debounce, self._first_event + self.max_delay)
                    if now >= due:
                        batch, self._pending = self._pending, Batch()
                        self._busy = True
                        return batch
                    self._cond.wait(due - now)
                else:
                    self._cond.wait()

    def _run(self) -> None:
        try:
            self._establish(self._chain)
        except Exception:
            log.exception("could not start watching %s", self.root)
            self.mode = "stopped"
        finally:
            with self._cond:
                self._starting = False
                self._cond.notify_all()
        if self._stopping:
            self._stop_mechanism()
            return
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            try:
                self._handle(batch)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _handle(self, batch: Batch) -> None:
        if self._limit_hit:
            with self._cond:
                self._limit_hit = False
            if self.mode != "polling":
                self._switch_to_polling()
            if not batch:
                return
        if batch.root_gone:
            self._notice(ROOT_GONE_NOTICE.format(root=self.root))
        if batch.rules_changed:
            self.rules.reload()
            if self.mode == "inotify":
                self._restart_mechanism()  # watches follow the rules: a folder may no longer be ignored
        try:
            self._apply(batch)
        except Exception:  # one failed batch must not end watching; the next full check repairs
            log.exception("could not apply changes in %s", self.root)
