"""Prompt building: templates in a sandbox, fallbacks, thinking switches, history."""

from __future__ import annotations

from app.core.engine.options import ChatMessage
from app.core.engine.profiles import profile_for
from app.core.engine.prompt import CHATML_STOPS, TRANSCRIPT_STOPS, PromptBuilder, strip_thinking
from tests.fixtures.tiny_gguf import QWEN3_CHAT_TEMPLATE

QWEN = profile_for("qwen3")
GENERIC = profile_for("llama")

HISTORY = (
    ChatMessage("system", "Be brief."),
    ChatMessage("user", "Hi"),
    ChatMessage("assistant", "<think>\nsecret plan\n</think>\n\nHello!"),
    ChatMessage("user", "2+2?"),
)


def test_qwen_template_with_switch() -> None:
    builder = PromptBuilder(QWEN3_CHAT_TEMPLATE, QWEN)
    on = builder.build(HISTORY, thinking=True)
    off = builder.build(HISTORY, thinking=False)
    assert "secret plan" not in on.text and "Hello!" in on.text
    assert on.text.endswith("<|im_start|>assistant\n") and not on.starts_in_thinking
    assert off.text.endswith("<think>\n\n</think>\n\n") and not off.starts_in_thinking
    assert "/no_think" not in off.text  # the template has a real switch
    assert not on.notices


def test_soft_switch_when_template_has_none() -> None:
    builder = PromptBuilder(
        "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
        "<|im_start|>assistant\n",
        QWEN,
    )
    off = builder.build(HISTORY, thinking=False)
    assert "Be brief.\n/no_think" in off.text
    on = builder.build((ChatMessage("user", "hi"),), thinking=True)
    assert on.text.startswith("<|im_start|>system\n/think<|im_end|>")


def test_template_that_opens_the_think_block() -> None:
    template = QWEN3_CHAT_TEMPLATE.replace(
        "{{- '<|im_start|>assistant\\n' -}}", "{{- '<|im_start|>assistant\\n<think>\\n' -}}"
    )
    built = PromptBuilder(template, QWEN).build(HISTORY, thinking=True)
    assert built.starts_in_thinking


def test_malicious_template_is_not_run() -> None:
    evil = "{{ ''.__class__.__mro__[1].__subclasses__() }}{% for m in messages %}{{ m.content }}{% endfor %}"
    built = PromptBuilder(evil, QWEN).build(HISTORY, thinking=True)
    assert built.notices and "unsafe" in built.notices[0]
    assert built.text.startswith("<|im_start|>system\nBe brief.")  # ChatML fallback
    assert "<class" not in built.text and "subclasses" not in built.text


def test_globals_escape_is_not_run() -> None:
    evil = "{{ raise_exception.__globals__['os'].system('echo pwned') }}"
    built = PromptBuilder(evil, QWEN).build(HISTORY, thinking=True)
    assert built.notices and "ChatML" in built.notices[0]


def test_broken_template_falls_back_with_notice() -> None:
    built = PromptBuilder("{% for m in messages %}{{ m.content ", QWEN).build(HISTORY, thinking=False)
    assert built.notices and "invalid" in built.notices[0]
    assert set(CHATML_STOPS) <= set(built.stops)
    assert "/no_think" in built.text  # thinking still switched off by the soft switch


def test_template_raising_falls_back() -> None:
    built = PromptBuilder("{{ raise_exception('no system role') }}", QWEN).build(HISTORY, thinking=True)
    assert built.notices and "no system role" in built.notices[0]


def test_no_template_gives_a_transcript() -> None:
    built = PromptBuilder(None, GENERIC).build(HISTORY, thinking=True)
    assert built.text == "System: Be brief.\n\nUser: Hi\n\nAssistant: Hello!\n\nUser: 2+2?\n\nAssistant:"
    assert built.stops == TRANSCRIPT_STOPS


def test_strip_thinking_variants() -> None:
    assert strip_thinking("<think>a</think>\n\nB", QWEN) == "B"
    assert strip_thinking("only closes</think>\nB", QWEN) == "B"
    assert strip_thinking("no thinking", QWEN) == "no thinking"
