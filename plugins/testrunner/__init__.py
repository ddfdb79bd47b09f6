"""The built-in test-runner plugin: /test and /fix in the chat, and the Tests panel.

Tests run with the project's own interpreter (``app.api.TestRun``); a failure
can be sent to the model, whose answer comes back as a reviewed edit, after
which the failed tests run again. The panel is Qt and lives in ``panel.py``,
imported only when the window asks for it, so the plugin loads headless.
"""

from __future__ import annotations

import shlex
from typing import Any

from app.api import (
    CaseResult,
    CommandInvocation,
    CommandResult,
    PanelSpec,
    PluginContext,
    PluginInfo,
    QuillpadError,
    SlashCommand,
    TestRun,
    TestRunResult,
    hookimpl,
)
from plugins.testrunner.fix import fix_turn
from plugins.testrunner.summary import summary_markdown

__version__ = "0.1.0"


class TestRunnerPlugin:
    """Runs the project's pytest suite and helps fix what fails."""

    __test__ = False
    info = PluginInfo(
        name="Tests",
        version=__version__,
        description="Run the project's tests, see the results, and ask the model to fix a failure.",
        requires=("project",),
    )

    def __init__(self) -> None:
        self.panel: Any = None  # the Tests panel, once the window made it
        self.last: TestRunResult | None = None

    @hookimpl
    def quillpad_slash_commands(self, context: PluginContext) -> list[SlashCommand]:
        return [
            SlashCommand("test", "run the project's tests", self.test, "[pytest arguments]"),
            SlashCommand("fix", "ask the model to fix a failing test", self.fix, "[test id]"),
        ]

    @hookimpl
    def quillpad_panels(self, context: PluginContext) -> list[PanelSpec]:
        return [PanelSpec("testrunner.tests", "Tests", self.make_panel, "bottom")]

    def make_panel(self, context: PluginContext) -> object:
        from plugins.testrunner.panel import TestsPanel

        self.panel = TestsPanel(context, self)
        return self.panel

    def results(self) -> TestRunResult | None:
        return self.panel.result if self.panel is not None and self.panel.result is not None else self.last

    def test(self, invocation: CommandInvocation) -> CommandResult:
        """/test: in the panel when there is one (it does not block), else here."""
        root = invocation.context.project_root()
        if root is None:
            return CommandResult(message="Open a project folder first; /test runs its tests.")
        try:
            args = shlex.split(invocation.args)
        except ValueError as err:
            return CommandResult(message=f"The arguments could not be read ({err}); check the quotes.")
        if self.panel is not None:
            started = self.panel.run(args)
            if started is None:  # said only once the run really started (issue 26)
                return CommandResult(message="The tests did not start: " + self.panel.summary.text())
            return CommandResult(message=f"Running the tests with {started}; the results appear in the Tests panel.")
        try:
            self.last = TestRun(root, args).run()
        except QuillpadError as err:
            return CommandResult(message=str(err))
        return CommandResult(message=summary_markdown(self.last))

    def failing(self, nodeid: str = "") -> CaseResult | None:
        result = self.results()
        problems = result.report.problems if result is not None else []
        if nodeid:
            return next((case for case in problems if case.nodeid == nodeid or case.name == nodeid), None)
        return problems[0] if problems else None

    def fix(self, invocation: CommandInvocation) -> CommandResult:
        """/fix [test id]: the failure goes to the model; its answer comes back as a diff to review."""
        root = invocation.context.project_root()
        case = self.failing(invocation.args.strip())
        if root is None or case is None:
            return CommandResult(message="There is no failing test to fix; run /test first.")
        invocation.context.require("/fix", "model")
        return fix_turn(invocation.context, case, root)


plugin = TestRunnerPlugin()
