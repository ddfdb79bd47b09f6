"""The code-generation plugin end to end with a scripted model: prompts, proposals, apply, undo."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core.chat.commands import run_command, run_result
from app.core.edits.commit import apply_proposal
from app.core.edits.document import MemoryDocument, MemoryEditor
from app.core.plugins.manager import PluginManager
from tests.fixtures.scripted_model import ScriptedModel
from tests.plugins.codegen.conftest import MAIN, FakeProject

EDIT_REPLY = """<think>
Maybe I should write app/evil.py
<<<<<<< SEARCH
x
=======
y
>>>>>>> REPLACE
</think>

app/main.py
```python
<<<<<<< SEARCH
    message = "Hi " + name
=======
    message = f"Hi {name}"
>>>>>>> REPLACE
```

```python
<<<<<<< SEARCH
    return "Bye " + name
=======
    return f"Bye {name}"
>>>>>>> REPLACE
```

tests/test_main.py
```python
from app.main import greet


def test_greet():
    assert greet("a") == "Hi a"
```
"""


def select(document: MemoryDocument, fragment: str) -> None:
    start = document.text().index(fragment)
    document.select(start, start + len(fragment))


def test_gen_inserts_at_the_cursor_after_review(
    manager: PluginManager, model: ScriptedModel, document: MemoryDocument
) -> None:
    document.set_cursor(len(MAIN))
    model._replies.append("Here you go:\n\n```python\n\ndef shout_name(name):\n    return name.upper()\n```\n")
    model.thinking = "I should write a function."
    outcome = run_command(manager, "/gen a function that shouts a name")
    prompt = model.last_prompt
    assert "<CURSOR>" in prompt and "a function that shouts a name" in prompt and "File app/main.py" in prompt
    assert "app/util.py defines helpers" in prompt  # project context attached
    proposal = outcome.proposal
    assert proposal is not None and [change.key for change in proposal] == ["app/main.py"]
    assert document.text() == MAIN  # nothing applied before the user accepts
    apply_proposal(proposal, proposal.accept_all(), manager.host.editor)
    # PEP 8's two blank lines before the new function, and the file keeps its final newline (issue 26).
    assert MAIN.endswith("\n") and document.text() == MAIN + "\n\ndef shout_name(name):\n    return name.upper()\n"
    assert "I should write" not in document.text()
    assert document.undo_steps == 1 and document.undo() and document.text() == MAIN


def test_gen_indents_to_the_cursor_line(manager: PluginManager, model: ScriptedModel, document: MemoryDocument) -> None:
    position = document.text().index("    return message")
    document.set_cursor(position + 4)
    model._replies.append("```python\nif not name:\n    name = 'you'\n```")
    proposal = run_command(manager, "/gen default the name").proposal
    assert proposal is not None
    text = proposal.changes[0].result({0})
    assert "    if not name:\n        name = 'you'return message" in text


def test_gen_without_code_proposes_nothing(manager: PluginManager, model: ScriptedModel) -> None:
    model._replies.append("I am not sure what you mean.")
    outcome = run_command(manager, "/gen something")
    assert outcome.proposal is None and "no code block" in outcome.messages[-1]
    assert "Say what to write" in run_command(manager, "/gen").messages[0]


def test_explain_streams_an_answer_about_the_selection(
    manager: PluginManager, model: ScriptedModel, document: MemoryDocument
) -> None:
    select(document, '    message = "Hi " + name\n    return message\n')
    model._replies.append("It builds a greeting.")
    model.thinking = "Let me look."
    events: list[object] = []
    outcome = run_command(manager, "/explain why a variable?", on_event=events.append)
    assert outcome.messages == ["It builds a greeting."] and outcome.proposal is None
    prompt = model.last_prompt
    assert "Explain lines 5–6" in prompt and "why a variable?" in prompt
    assert any(type(event).__name__ == "ThinkingText" for event in events)  # the chat can show it apart


def test_edit_proposes_per_file_and_applies_per_hunk(
    manager: PluginManager, model: ScriptedModel, document: MemoryDocument, project: Path
) -> None:
    model._replies.append(EDIT_REPLY)
    outcome = run_command(manager, "/edit use f-strings and add a test")
    prompt = model.last_prompt
    assert "SEARCH/REPLACE" in prompt and "use f-strings and add a test" in prompt
    assert prompt.count('message = "Hi " + name') == 1  # the file once, no selection part
    proposal = outcome.proposal
    assert proposal is not None
    assert [change.key for change in proposal] == ["app/main.py", "tests/test_main.py"]
    main = proposal.change("app/main.py")
    assert len(main.hunks) == 2
    assert "evil" not in outcome.messages[-1] and not (project / "app" / "evil.py").exists()
    assert "app/main.py: +2 −2" in outcome.messages[-1]
    apply_proposal(proposal, {"app/main.py": {1}}, manager.host.editor)  # the second hunk only, no new file
    assert 'return f"Bye {name}"' in document.text() and 'message = "Hi " + name' in document.text()
    assert not (project / "tests").exists()
    assert document.undo_steps == 1 and document.undo() and document.text() == MAIN


def test_edit_of_a_selection_marks_it_in_the_prompt(
    manager: PluginManager, model: ScriptedModel, document: MemoryDocument
) -> None:
    select(document, '    return "Bye " + name')
    model._replies.append('```python\n    return "Goodbye, " + name\n```')
    outcome = run_command(manager, "/edit be more formal")
    assert "Change only the selected lines 10–10" in model.last_prompt
    proposal = outcome.proposal
    assert proposal is not None and "replaces the selection" in outcome.messages[-1]
    apply_proposal(proposal, proposal.accept_all(), manager.host.editor)
    assert document.text() == MAIN.replace('"Bye "', '"Goodbye, "')


def test_edit_refuses_paths_outside_the_project(manager: PluginManager, model: ScriptedModel, project: Path) -> None:
    model._replies.append(
        "../../escape.py\n```python\nprint('out')\n```\n\n/etc/cron.d/job\n<<<<<<< SEARCH\n=======\nx\n>>>>>>> REPLACE"
    )
    outcome = run_command(manager, "/edit break out")
    assert outcome.proposal is None
    assert "outside the project" in outcome.messages[-1]
    assert not (project.parent.parent / "escape.py").exists()


def test_edit_flags_risky_python(manager: PluginManager, model: ScriptedModel) -> None:
    model._replies.append(
        "app/main.py\n<<<<<<< SEARCH\n    return message\n=======\n"
        "    import os\n    os.system('rm -rf ' + name)\n    return message\n>>>>>>> REPLACE"
    )
    outcome = run_command(manager, "/edit clean up")
    assert outcome.proposal is not None
    findings = outcome.proposal.changes[0].findings()
    assert {f.test_id for f in findings} >= {"B605"} and all(f.line in (6, 7) for f in findings)
    assert "safety scan flags" in outcome.messages[-1]


def test_edit_garbage_proposes_nothing(manager: PluginManager, model: ScriptedModel) -> None:
    model._replies.append("Sure! I changed it. ======= done >>>>>>> ok")
    outcome = run_command(manager, "/edit anything")
    assert outcome.proposal is None and "no edits that could be used" in outcome.messages[-1]


def test_edit_when_only_thinking_came_back(manager: PluginManager, model: ScriptedModel) -> None:
    model._replies.append("<think>\napp/main.py\n<<<<<<< SEARCH\ndef greet(name):\n=======\nevil\n")
    outcome = run_command(manager, "/edit anything")
    assert outcome.proposal is None


def test_file_changed_while_the_model_wrote(
    manager: PluginManager, model: ScriptedModel, document: MemoryDocument
) -> None:
    result = manager.dispatch("/gen something")
    document.insert(0, "# typed meanwhile\n")
    model._replies.append("```python\nx = 1\n```")
    outcome = run_result(result, model)
    assert outcome.proposal is None and "changed while the model was writing" in outcome.messages[-1]


def test_editor_actions(manager: PluginManager, model: ScriptedModel, document: MemoryDocument) -> None:
    # Other built-in plugins (math) add actions too; only codegen's are checked here.
    actions = {e.action.id: e.action for e in manager.editor_actions() if e.action.id.startswith("codegen.")}
    assert set(actions) == {"codegen.explain", "codegen.edit-selection", "codegen.edit-file", "codegen.generate"}
    assert actions["codegen.explain"].needs_selection and actions["codegen.edit-selection"].input_prompt
    select(document, "def farewell(name):")
    model._replies += ["Explained.", EDIT_REPLY]
    assert run_result(manager.run_action("codegen.explain"), model).messages == ["Explained."]
    outcome = run_result(manager.run_action("codegen.edit-file", "use f-strings"), model)
    assert "Change only the selected" not in model.last_prompt  # the whole file, despite the selection
    assert outcome.proposal is not None


def test_context_provider_and_system_prompt(manager: PluginManager, document: MemoryDocument) -> None:
    (piece,) = manager.gather_context("anything", provider_ids=["codegen.current-file"])
    assert piece.label == "main.py" and piece.language == "python" and "def greet" in piece.text
    assert "SEARCH/REPLACE" in manager.system_prompt("code")


def test_needs_a_model_and_a_document(manager: PluginManager, editor: MemoryEditor) -> None:
    model = manager.host.model
    manager.host.model = None
    with pytest.raises(Exception, match=r"^/edit needs a loaded model; load a model first\.$"):
        manager.dispatch("/edit x")
    manager.host.model = model
    empty = MemoryEditor()
    manager.host.editor = empty
    assert "Open a file" in manager.dispatch("/explain").message
    empty.set_current(MemoryDocument(""))
    assert "empty" in manager.dispatch("/explain").message


def test_large_files_are_cut_around_the_selection(
    manager: PluginManager, model: ScriptedModel, document: MemoryDocument
) -> None:
    manager.context_for("codegen").settings.set("max_file_chars", 120)
    select(document, "def farewell(name):")
    model._replies.append("Fine.")
    run_command(manager, "/explain")
    assert "lines above not shown" in model.last_prompt


def test_grammar_is_used_when_the_model_supports_it(
    manager: PluginManager, model: ScriptedModel, fake_project: FakeProject
) -> None:
    manager.context_for("codegen").settings.set("constrain_output", True)
    model.supports_grammar = True
    turn = manager.dispatch("/edit x").ask
    assert turn is not None and turn.options.grammar and turn.options.thinking is False
    model.supports_grammar = False
    turn = manager.dispatch("/edit x").ask
    assert turn is not None and turn.options.grammar is None
