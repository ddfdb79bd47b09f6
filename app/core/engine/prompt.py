"""Turning a conversation into the prompt text a model expects.

The model's own chat template is rendered in Jinja2's immutable sandbox, so a
template that reaches for ``__class__``, ``__globals__`` and friends is stopped
by Jinja2 instead of executing anything. A template that fails falls back to
ChatML with a notice; a model with no template gets a plain transcript.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from app.core.engine.options import ChatMessage
from app.core.engine.profiles import FamilyProfile

CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
CHATML_STOPS = ("<|im_end|>", "<|endoftext|>")
TRANSCRIPT_STOPS = ("\nUser:", "\nSystem:")


@dataclass(frozen=True)
class BuiltPrompt:
    """A rendered prompt and how to read the reply to it."""

    text: str
    stops: tuple[str, ...]
    starts_in_thinking: bool  # the generation prompt already opened a think block
    thinking: bool
    notices: tuple[str, ...] = field(default_factory=tuple)


def strip_thinking(text: str, profile: FamilyProfile) -> str:
    """Remove think blocks from an earlier assistant turn (Qwen3 requires it)."""
    open_tag, close_tag = re.escape(profile.think_open), re.escape(profile.think_close)
    text = re.sub(f"{open_tag}.*?{close_tag}", "", text, flags=re.DOTALL)
    if profile.think_close in text:  # template opened the block itself
        text = text.split(profile.think_close, 1)[1]
    return text.lstrip()


def _raise_exception(message: str) -> None:
    raise jinja2.TemplateError(message)


def _strftime_now(fmt: str) -> str:
    return datetime.now().strftime(fmt)


class PromptBuilder:
    """Renders conversations for one loaded model."""

    def __init__(
        self,
        template: str | None,
        profile: FamilyProfile,
        bos_token: str = "",
        eos_token: str = "",
    ) -> None:
        self.profile = profile
        self.bos_token = bos_token
        self.eos_token = eos_token
        self.template_source = template
        self.has_thinking_switch = bool(template and "enable_thinking" in template)
        self._env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
        self._env.globals.update(raise_exception=_raise_exception, strftime_now=_strftime_now)
        self._template: jinja2.Template | None = None
        self._compile_error: str | None = None
        if template:
            try:
                self._template = self._env.from_string(template)
            except jinja2.TemplateError as err:
                self._compile_error = str(err)
        self._chatml = self._env.from_string(CHATML_TEMPLATE)

    def _messages(
        self, messages: tuple[ChatMessage, ...], thinking: bool, switch_in_template: bool
    ) -> list[dict[str, str]]:
        out = []
        for message in messages:
            content = message.content
            if message.role == "assistant":
                content = strip_thinking(content, self.profile)
            item = {"role": message.role, "content": content}
            if message.role == "tool" and message.name:
                item["name"] = message.name
            out.append(item)
        if self.profile.soft_switch and not switch_in_template:
            # Qwen3's soft switch: the last /think or /no_think in the
            # conversation wins, so it goes into the system message.
            switch = "/think" if thinking else "/no_think"
            if out and out[0]["role"] == "system":
                out[0] = {"role": "system", "content": f"{out[0]['content']}\n{switch}".lstrip()}
            else:
                out.insert(0, {"role": "system", "content": switch})
        return out

    def build(
        self, messages: tuple[ChatMessage, ...], thinking: bool, tools: Sequence[Mapping[str, object]] = ()
    ) -> BuiltPrompt:
        """Render ``messages`` with the generation prompt for the next reply.

        ``tools`` (OpenAI-style function schemas) go to the template's ``tools``
        variable, which Qwen3's template turns into its ``<tools>`` system block;
        without them the variable is left undefined, as templates expect.
        """
        if not self.template_source:
            return self._transcript(messages, thinking)
        dicts = self._messages(messages, thinking, self.has_thinking_switch)
        notices: list[str] = []
        text: str | None = None
        if self._template is not None:
            try:
                extra: dict[str, object] = {"tools": [dict(tool) for tool in tools]} if tools else {}
                text = self._template.render(
                    messages=dicts,
                    add_generation_prompt=True,
                    enable_thinking=thinking,
                    bos_token=self.bos_token,
                    eos_token=self.eos_token,
                    **extra,
                )
            except jinja2.exceptions.SecurityError as err:
                notices.append(
                    f"The model's chat template tried an unsafe operation and was not run ({err}); "
                    "using the standard ChatML format instead."
                )
            except Exception as err:  # any template bug: fall back, never fail the chat
                notices.append(f"The model's chat template failed ({err}); using the standard ChatML format instead.")
        else:
            notices.append(
                f"The model's chat template is invalid ({self._compile_error}); "
                "using the standard ChatML format instead."
            )
        stops = tuple(self.profile.stop)
        if text is None:
            dicts = self._messages(messages, thinking, switch_in_template=False)
            text = self._chatml.render(messages=dicts, add_generation_prompt=True)
            stops = tuple(dict.fromkeys(stops + CHATML_STOPS))
        return BuiltPrompt(
            text=text,
            stops=stops,
            starts_in_thinking=self._opens_thinking(text),
            thinking=thinking,
            notices=tuple(notices),
        )

    def _opens_thinking(self, text: str) -> bool:
        """True when the prompt ends inside an unclosed think block."""
        last_open = text.rfind(self.profile.think_open)
        return last_open >= 0 and text.find(self.profile.think_close, last_open) < 0

    def _transcript(self, messages: tuple[ChatMessage, ...], thinking: bool) -> BuiltPrompt:
        """A plain completion-style prompt for models without a chat template."""
        parts = []
        for message in messages:
            content = message.content
            if message.role == "assistant":
                content = strip_thinking(content, self.profile)
            label = {"system": "System", "user": "User", "assistant": "Assistant", "tool": "Tool"}[message.role]
            parts.append(f"{label}: {content.strip()}\n")
        text = "\n".join(parts) + "\nAssistant:"
        return BuiltPrompt(text=text, stops=TRANSCRIPT_STOPS, starts_in_thinking=False, thinking=thinking)
