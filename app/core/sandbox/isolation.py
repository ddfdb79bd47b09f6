"""What isolation the sandbox has on this machine, in words a user can act on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from app.core.errors import QuillpadError

Isolation = Literal["namespaces", "sandbox-exec", "job-object", "limits-only"]

_DESCRIPTIONS: dict[str, str] = {
    "namespaces": (
        "Isolated (Linux namespaces): no network, only its own folder writable, "
        "your home and other files hidden, its own processes only."
    ),
    "sandbox-exec": ("Isolated (macOS sandbox-exec): no network, only its own folder writable, your home unreadable."),
    "job-object": (
        "Limits only (Windows job object): time, memory and processes are limited, but the code could "
        "read your files and use the network."
    ),
    "limits-only": (
        "Limits only: time, memory, file size and processes are limited, but the code could "
        "read your files and use the network."
    ),
}

NO_ISOLATION_NOTICE = (
    "This system does not let Quillpad isolate code ({why}), "
    "so the sandbox can only limit time, memory and processes: code run anyway could read your "
    "files and use the network."
)
EVAL_REFUSAL = (
    "Evaluation runs model-written code, and this system cannot isolate it ({why}); "
    "pass --unsafe-no-isolation to run it with limits only, at your own risk."
)
_WINDOWS_WHY = "Windows offers no isolation Quillpad can use; a job object limits time, memory and processes"


_RUN_TOOLTIPS = {
    "linux": (
        "Runs the code isolated (Linux namespaces): no network, your files hidden, only a throwaway "
        "folder writable; time, memory and processes limited. Where this system cannot isolate code, "
        "you are asked first."
    ),
    "darwin": (
        "Runs the code under macOS sandbox-exec: no network, your files unreadable, only a throwaway "
        "folder writable; time, memory and processes limited."
    ),
    "win32": (
        "Runs the code with limits only (a Windows job object): time, memory and processes are limited, "
        "but the code can read your files and use the network. You are asked first."
    ),
}


def run_tooltip(platform: str) -> str:
    """What "Run in sandbox" does on ``platform`` (``sys.platform``), for the button's tooltip."""
    key = "linux" if platform.startswith("linux") else platform
    return _RUN_TOOLTIPS.get(
        key, "Runs the code with limits only: the code can read your files and use the network. You are asked first."
    )


class SandboxError(QuillpadError):
    """The sandbox itself could not run (not the program inside it)."""


class IsolationUnavailable(SandboxError):
    """Isolation is required but this system cannot provide it; nothing was run."""

    def __init__(self, support: IsolationSupport) -> None:
        super().__init__(support.notice + " Run it with limits only if you trust this code.")
        self.support = support


@dataclass(frozen=True)
class IsolationSupport:
    """The isolation runs on this machine get, and why it is less than full when it is."""

    mode: Isolation
    reason: str = ""  # the system's own words when isolation failed ("" when isolated)

    @property
    def isolated(self) -> bool:
        return self.mode in ("namespaces", "sandbox-exec")

    @property
    def description(self) -> str:
        return describe(self.mode)

    @property
    def _why(self) -> str:
        if self.mode == "job-object":
            return _WINDOWS_WHY
        return "user namespaces are not available" + (f": {self.reason}" if self.reason else "")

    @property
    def notice(self) -> str:
        """The plain-words notice shown once when code would run with limits only."""
        return NO_ISOLATION_NOTICE.format(why=self._why)

    @property
    def eval_refusal(self) -> str:
        return EVAL_REFUSAL.format(why=self._why)


def describe(mode: str) -> str:
    """One sentence on what ``mode`` isolates."""
    return _DESCRIPTIONS.get(mode, _DESCRIPTIONS["limits-only"])


def support_from_facts(facts: dict[str, object], wanted: Isolation) -> IsolationSupport:
    """What the launcher's report says was achieved."""
    if facts.get("isolation") == wanted:
        return IsolationSupport(wanted)
    return IsolationSupport("limits-only", str(facts.get("error") or "the sandbox could not set it up"))


def limits_only_notes(is_root: bool, process_limit: bool) -> list[str]:
    """What a limits-only run does not stop, said in the result."""
    notes = ["Not isolated: the code could read your files and use the network (limits only)."]
    if is_root:
        notes.append("Writes outside the sandbox folder are not blocked here (running as root without isolation).")
    if not process_limit:
        notes.append("The process-count limit is not enforced here (running as root without a pids cgroup).")
    return notes
