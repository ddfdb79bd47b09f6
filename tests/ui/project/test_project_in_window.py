"""The open project in the window: index, @file completion, context chips, sending."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from pytestqt.qtbot import QtBot

from app.core.chat.project_context import ProjectContextSource
from app.core.project import AssembledContext, watcher
from app.core.project.watch_mechanisms import native_mechanism, polling_mechanism
from app.ui.shell.main_window import MainWindow
from tests.fixtures.watch_mechanisms import silent_inotify
from tests.ui.conftest import load_model

MakeWindow = Callable[[], MainWindow]


def make_project(tmp_path: Path) -> Path:
    root = tmp_path / "shop"
    (root / "shop").mkdir(parents=True)
    (root / "shop" / "cart.py").write_text(
        "class Cart:\n    def total_price(self, items):\n        return sum(i.price for i in items)\n"
    )
    (root / "shop" / "tax.py").write_text("def vat(amount):\n    return amount * 0.2\n")
    (root / "README.md").write_text("# Shop\nA tiny shop.\n")
    (root / ".gitignore").write_text("secrets.txt\n")
    (root / "secrets.txt").write_text("password=hunter2\n")
    return root


def open_project(qtbot: QtBot, window: MainWindow, root: Path) -> None:
    window.open_folder(str(root))
    qtbot.waitUntil(lambda: bool(window.project.complete_file("")), timeout=60_000)


def test_opening_a_folder_indexes_it_and_offers_files(make_window: MakeWindow, qtbot: QtBot, tmp_path: Path) -> None:
    window = make_window()
    open_project(qtbot, window, make_project(tmp_path))
    assert window.tree_dock.isVisible()
    assert window.project.complete_file("ca") == ["shop/cart.py"]
    assert "secrets.txt" not in window.project.complete_file("")  # .gitignore is honoured
    assert window.plugins.host.project is not None  # plugins see the project


def test_context_chips_can_be_removed_before_sending(
    make_window: MakeWindow, qtbot: QtBot, tmp_path: Path, qwen3_gguf: Path
) -> None:
    window = make_window()
    root = make_project(tmp_path)
    open_project(qtbot, window, root)
    load_model(qtbot, window, qwen3_gguf)
    window.chat.input.setPlainText("How is the total_price computed? See @shop/tax.py")
    with qtbot.waitSignal(window.chat.contextPreviewed, timeout=30_000):
        window.chat.refresh_context_preview()
    labels = [item.label for item in window.chat.chips.items()]
    assert any("tax.py" in label for label in labels)
    assert any("cart.py" in label for label in labels)  # found by search
    tax_chip = next(item for item in window.chat.chips.items() if "tax.py" in item.label)
    window.chat.chips.remove(tax_chip)
    window.chat.request_overrides = {"max_tokens": 4}
    window.chat.send()
    qtbot.waitUntil(lambda: not window.chat.busy, timeout=60_000)
    stored = window.chat.store.messages(window.chat.conversation_id)[0]  # type: ignore[arg-type]
    sent = "\n\n".join(a.as_markdown() for a in stored.attachments)
    assert "sum(i.price for i in items)" in sent and "sum(i.price" not in stored.content
    assert "amount * 0.2" not in sent  # the removed chip did not go
    assert not window.chat.chips.items()


def test_saved_changes_reach_the_index(make_window: MakeWindow, qtbot: QtBot, tmp_path: Path) -> None:
    window = make_window()
    root = make_project(tmp_path)
    open_project(qtbot, window, root)
    (root / "shop" / "shipping.py").write_text("def shipping_cost(weight):\n    return 4.99 + weight\n")
    qtbot.waitUntil(lambda: "shop/shipping.py" in window.project.complete_file("ship"), timeout=30_000)
    project = window.project.project
    assert project is not None
    assert any(hit.path == "shop/shipping.py" for hit in project.search("shipping_cost"))


def test_attached_context_fits_a_model_with_a_greedy_tokenizer(
    make_window: MakeWindow, qtbot: QtBot, tmp_path: Path, qwen3_gguf: Path
) -> None:
    # The tiny model's tokenizer needs about one token per character, far more
    # than the 3.5-characters estimate: the budget must shrink to match.
    root = make_project(tmp_path)
    (root / "shop" / "big.py").write_text("".join(f"def price_{i}(x):\n    return x * {i}\n\n" for i in range(800)))
    window = make_window()
    open_project(qtbot, window, root)
    load_model(qtbot, window, qwen3_gguf)
    qtbot.waitUntil(lambda: window.tokens_per_char > 0.5, timeout=30_000)
    window.chat.request_overrides = {"max_tokens": 4}
    window.chat.ask("explain price_10 in @shop/big.py")
    qtbot.waitUntil(lambda: not window.chat.busy, timeout=60_000)
    reply = window.chat.store.messages(window.chat.conversation_id)[-1]  # type: ignore[arg-type]
    assert reply.role == "assistant" and reply.content  # not refused as too long


def test_where_is_x_defined_attaches_the_definition_and_says_why(
    make_window: MakeWindow, qtbot: QtBot, tmp_path: Path, qwen3_gguf: Path
) -> None:
    root = make_project(tmp_path)
    (root / "shop" / "pricing.py").write_text("def compute_discount(total, rate):\n    return round(total * rate, 2)\n")
    (root / "tests").mkdir()
    (root / "tests" / "test_pricing.py").write_text(
        "from shop.pricing import compute_discount\n\n"
        + "\n".join(f"def test_{i}():\n    assert compute_discount({i}, 0.5)\n" for i in range(40))
    )
    window = make_window()
    open_project(qtbot, window, root)
    load_model(qtbot, window, qwen3_gguf)
    window.chat.input.setPlainText("where is compute_discount defined?")
    with qtbot.waitSignal(window.chat.contextPreviewed, timeout=30_000):
        window.chat.refresh_context_preview()
    chunks = [item for item in window.chat.chips.items() if item.kind == "chunk"]
    assert chunks[0].label.startswith("shop/pricing.py:")
    assert chunks[0].why.startswith("definition of compute_discount, named in the question")
    window.chat.request_overrides = {"max_tokens": 4}
    window.chat.send()
    qtbot.waitUntil(lambda: not window.chat.busy, timeout=60_000)
    stored = window.chat.store.messages(window.chat.conversation_id)[0]  # type: ignore[arg-type]
    sent = "\n\n".join(a.as_markdown() for a in stored.attachments)  # kept apart from the typed text
    assert stored.content == "where is compute_discount defined?"
    assert "def compute_discount(total, rate):" in sent and "(defines compute_discount)" in sent


def test_a_file_saved_in_the_editor_is_searchable_without_the_watcher(
    make_window: MakeWindow, qtbot: QtBot, tmp_path: Path
) -> None:
    window = make_window()
    root = make_project(tmp_path)
    open_project(qtbot, window, root)
    project = window.project.project
    assert project is not None
    project.stop()  # no watcher: only the editor's save can tell the index
    assert window.tabs.open_file(str(root / "shop" / "tax.py"))
    editor = window.tabs.current_editor()
    assert editor is not None
    editor.setPlainText("def vat(amount):\n    return amount * 0.2\n\n\ndef customs_duty(amount):\n    return 5\n")
    with qtbot.waitSignal(window.project.filesChanged, timeout=30_000) as changed:
        assert window.tabs.save_current()
    assert changed.args == [["shop/tax.py"]]
    hit = project.search("customs_duty", 1)[0]
    assert hit.path == "shop/tax.py" and hit.is_definition
    assert "recently edited" in hit.reasons


def test_the_context_preview_runs_off_the_gui_thread(make_window: MakeWindow, qtbot: QtBot, tmp_path: Path) -> None:
    # The retrieval is held at a gate until the GUI thread has gone on ticking a
    # heartbeat: were it on the GUI thread, no tick could happen while it waits.
    window = make_window()
    open_project(qtbot, window, make_project(tmp_path))
    source = window.chat.context_source
    assert isinstance(source, ProjectContextSource)
    prepare = source.prepare
    gate, entered, finished = threading.Event(), threading.Event(), threading.Event()
    ran_on: list[int] = []

    def gated(text: str) -> Callable[[], AssembledContext | None]:
        retrieve = prepare(text)  # reads the editor here, on the GUI thread

        def run() -> AssembledContext | None:
            ran_on.append(threading.get_ident())
            entered.set()
            gate.wait(30)
            try:
                return retrieve()
            finally:
                finished.set()

        return run

    source.prepare = gated  # type: ignore[method-assign]  # the gate around the real retrieval
    ticks: list[int] = []
    heartbeat = QTimer()
    heartbeat.setInterval(5)
    heartbeat.timeout.connect(lambda: ticks.append(1))
    heartbeat.start()
    window.chat.input.setPlainText("How is the total_price computed?")
    window.chat.refresh_context_preview()  # returns at once
    assert entered.wait(30)
    before = len(ticks)
    qtbot.waitUntil(lambda: len(ticks) >= before + 10)  # the GUI ticks while retrieval is held
    assert not finished.is_set() and not window.chat.chips.items()
    with qtbot.waitSignal(window.chat.contextPreviewed, timeout=30_000):
        gate.set()
    heartbeat.stop()
    assert ran_on and ran_on[0] != threading.get_ident()
    assert any("cart.py" in item.label for item in window.chat.chips.items())


def test_a_newer_preview_replaces_an_older_one(make_window: MakeWindow, qtbot: QtBot, tmp_path: Path) -> None:
    window = make_window()
    open_project(qtbot, window, make_project(tmp_path))
    window.chat.input.setPlainText("How is the total_price computed?")
    window.chat.refresh_context_preview()
    window.chat.input.setPlainText("What is the vat on an amount?")
    with qtbot.waitSignal(window.chat.contextPreviewed, timeout=30_000):
        window.chat.refresh_context_preview()
    labels = [item.label for item in window.chat.chips.items()]
    assert any("tax.py" in label for label in labels)


def test_a_silent_watcher_is_replaced_and_the_status_bar_says_so(
    make_window: MakeWindow, qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The preferred mechanism really watches but its events are dropped (as with watchdog 7.1.1 before).
    monkeypatch.setattr(watcher, "default_mechanisms", lambda: [silent_inotify, native_mechanism, polling_mechanism])
    window = make_window()
    messages: list[str] = []
    window.statusBar().messageChanged.connect(messages.append)
    root = make_project(tmp_path)
    open_project(qtbot, window, root)
    qtbot.waitUntil(lambda: any("delivered no event" in m for m in messages), timeout=30_000)
    notice = next(m for m in messages if "delivered no event" in m)
    assert notice.startswith("Quillpad's inotify watcher delivered no event within 1 s, so changes")
    (root / "shop" / "shipping.py").write_text("def shipping_cost(weight):\n    return 4.99 + weight\n")
    qtbot.waitUntil(lambda: "shop/shipping.py" in window.project.complete_file("ship"), timeout=30_000)
    assert sum("delivered no event" in m for m in messages) == 1
