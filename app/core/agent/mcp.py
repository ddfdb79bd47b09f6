"""The MCP client: servers from ``mcp.json`` offered as tools, through the official ``mcp`` SDK.

``McpHub`` owns one event-loop thread for every server (the SDK is async;
the rest of the app is threads), started with the first server and ended by
``close``. A server starts on first use — listing its tools or calling one —
inside one long-lived task per server, because the SDK's transports must be
entered and left by the same task. Calls come from tool threads through
``run_coroutine_threadsafe`` and are cancelled by Stop and the tool's time
limit. A server that will not start, exits, or answers garbage is reported
in one sentence and started afresh on the next use; ``close`` stops them all
(stdio servers' processes are ended by the SDK's transport on exit).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import os
import threading
from collections.abc import Callable, Coroutine, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from app.core.agent.mcp_config import McpServerConfig
from app.core.errors import QuillpadError
from app.core.toolcalls.registry import RegisteredTool
from app.core.toolcalls.tools import Tool, ToolInvocation

log = logging.getLogger(__name__)

START_SECONDS = 20.0  # starting a server and listing its tools
T = TypeVar("T")


class McpError(QuillpadError):
    """An MCP server could not do what was asked (one sentence)."""


@dataclass(frozen=True)
class McpToolInfo:
    """A tool a server offers, as listed."""

    server: str
    name: str  # the server's own name for it
    description: str
    schema: dict[str, Any]

    @property
    def qualified(self) -> str:
        """The name the model calls: ``server__tool`` (function names allow no dots)."""
        return f"{self.server}__{self.name}"


@dataclass
class _Server:
    config: McpServerConfig
    session: Any = None  # mcp.ClientSession while running
    tools: tuple[McpToolInfo, ...] = ()
    task: asyncio.Task[None] | None = None
    closing: asyncio.Event | None = None
    error: str = ""  # why it last stopped or failed to start
    lock: threading.Lock = field(default_factory=threading.Lock)


class McpHub:
    """Every configured MCP server of one app session (a ``ToolSource``)."""

    def __init__(
        self,
        servers: Sequence[McpServerConfig],
        log_dir: Path | None = None,
        start_timeout: float = START_SECONDS,
        on_notice: Callable[[str], None] | None = None,
    ) -> None:
        self.start_timeout = start_timeout
        self.on_notice = on_notice  # told each failure, from the thread that met it
        self._servers = {s.name: _Server(s) for s in servers if not s.disabled}
        self._log_dir = log_dir
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._loop_lock = threading.Lock()
        self._closed = False
        self.notices: list[str] = []  # what went wrong, newest last (the front-end shows them)

    # -- the loop thread ----------------------------------------------------

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        with self._loop_lock:
            if self._closed:
                raise McpError("The MCP servers were shut down with the app.")
            if self._loop is None:
                loop = asyncio.new_event_loop()
                ready = threading.Event()

                def run() -> None:
                    asyncio.set_event_loop(loop)
                    loop.call_soon(ready.set)
                    loop.run_forever()

                self._thread = threading.Thread(target=run, name="mcp event loop", daemon=True)
                self._thread.start()
                ready.wait()
                self._loop = loop
            return self._loop

    def _submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self._ensure_loop())

    # -- servers ------------------------------------------------------------

    @property
    def names(self) -> list[str]:
        return list(self._servers)

    def known_tools(self) -> list[McpToolInfo]:
        """The tools of servers listed so far (starts nothing: for Settings ▸ Tools)."""
        return [info for server in self._servers.values() for info in server.tools]

    def running(self, name: str) -> bool:
        server = self._servers[name]
        return server.session is not None and server.task is not None and not server.task.done()

    def _report(self, server: _Server, message: str) -> None:
        server.error = message
        self.notices.append(message)
        log.warning("%s", message)
        if self.on_notice is not None:
            self.on_notice(message)

    def start(self, name: str) -> tuple[McpToolInfo, ...]:
        """Start server ``name`` unless it runs, and list its tools; raises ``McpError``."""
        server = self._servers.get(name)
        if server is None:
            raise McpError(f"There is no MCP server called {name} in mcp.json.")
        with server.lock:
            if self.running(name):
                return server.tools
            future = self._submit(self._start(server))
            try:
                future.result(self.start_timeout + 5)
            except concurrent.futures.TimeoutError:
                future.cancel()
                message = f"The MCP server {name} did not start within {self.start_timeout:g} s; check mcp.json."
                self._report(server, message)
                raise McpError(message) from None
            except McpError as err:
                self._report(server, str(err))
                raise
            return server.tools

    async def _start(self, server: _Server) -> None:
        started: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        started.add_done_callback(_consume)  # read by ``wait_for`` below, or by nobody after a timeout
        server.closing = asyncio.Event()
        server.task = asyncio.get_running_loop().create_task(self._serve(server, started))
        try:
            await asyncio.wait_for(asyncio.shield(started), self.start_timeout)
        except asyncio.TimeoutError:
            server.task.cancel()
            raise McpError(
                f"The MCP server {server.config.name} did not answer within {self.start_timeout:g} s of starting; "
                "check its command or url in mcp.json."
            ) from None

    async def _serve(self, server: _Server, started: asyncio.Future[None]) -> None:
        """The server's whole life, in one task: connect, initialise, list, wait for close."""
        name = server.config.name
        try:
            async with AsyncExitStack() as stack:
                read, write = await stack.enter_async_context(self._transport(server.config, stack))
                session = await stack.enter_async_context(ClientSession(read, write))
                await session.initialize()
                listed = await session.list_tools()
                server.tools = tuple(
                    McpToolInfo(name, tool.name, tool.description or "", dict(tool.input_schema or {}))
                    for tool in listed.tools
                )
                server.session, server.error = session, ""
                started.set_result(None)
                assert server.closing is not None
                await server.closing.wait()
        except asyncio.CancelledError:
            pass
        except BaseException as err:  # the SDK raises groups, OS errors and its own errors
            message = _describe_failure(name, err, started.done())
            if not started.done():
                started.set_exception(McpError(message))
            else:
                self._report(server, message)
        finally:
            server.session = None
            if not started.done():
                started.set_exception(McpError(f"The MCP server {name} ended before it was ready."))

    def _transport(self, config: McpServerConfig, stack: AsyncExitStack) -> contextlib.AbstractAsyncContextManager[Any]:
        if config.command:
            env = {**os.environ, **config.env}
            params = StdioServerParameters(command=config.command, args=list(config.args), env=env)
            errlog: Any = open(os.devnull, "w")  # noqa: SIM115 - closed with the stack
            if self._log_dir is not None:
                self._log_dir.mkdir(parents=True, exist_ok=True)
                errlog.close()
                errlog = open(self._log_dir / f"mcp-{config.name}.log", "a", encoding="utf-8")  # noqa: SIM115
            stack.callback(errlog.close)
            return stdio_client(params, errlog=errlog)
        return streamable_http_client(config.url)

    def tools(self, name: str) -> tuple[McpToolInfo, ...]:
        """Server ``name``'s tools (starting it if needed)."""
        return self.start(name)

    def call(self, name: str, tool: str, arguments: dict[str, Any], token: Any = None) -> str:
        """Call ``tool`` on server ``name``; the text it returned. Stop (``token``) cancels the call."""
        self.start(name)
        server = self._servers[name]
        session = server.session
        if session is None:
            raise McpError(server.error or f"The MCP server {name} is not running.")
        future = self._submit(self._call(server, session, tool, arguments))
        while True:
            try:
                return future.result(0.05)
            except concurrent.futures.TimeoutError:
                if token is not None and token.cancelled:
                    future.cancel()
                    raise McpError(f"The call of {tool} on MCP server {name} was stopped.") from None
            except concurrent.futures.CancelledError:
                raise McpError(f"The call of {tool} on MCP server {name} was stopped.") from None

    async def _call(self, server: _Server, session: Any, tool: str, arguments: dict[str, Any]) -> str:
        name = server.config.name
        call = asyncio.ensure_future(session.call_tool(tool, arguments))
        call.add_done_callback(_consume)
        assert server.task is not None
        done, _ = await asyncio.wait({call, server.task}, return_when=asyncio.FIRST_COMPLETED)
        if call not in done:  # the server's task ended first: it exited or broke mid-call
            call.cancel()
            message = server.error or f"The MCP server {name} stopped during the call of {tool}."
            await self._discard(server)
            raise McpError(f"{message} It will be started again on the next use.")
        try:
            result = call.result()
        except BaseException as err:
            message = _describe_failure(name, err, True)
            self._report(server, message)
            await self._discard(server)  # whatever broke the call, the next use starts it afresh
            raise McpError(message) from None
        texts = []
        for block in getattr(result, "content", []) or []:
            text = getattr(block, "text", None)
            texts.append(text if isinstance(text, str) else f"[{getattr(block, 'type', 'content')} omitted]")
        body = "\n".join(texts)
        if getattr(result, "is_error", False):
            return f"The tool reported an error: {body}"
        return body or "(no output)"

    def stop(self, name: str) -> None:
        """Stop server ``name`` (it starts again on next use)."""
        server = self._servers[name]
        if self._loop is None or server.task is None:
            return
        future = self._submit(self._stop(server))
        with contextlib.suppress(Exception):
            future.result(10)

    async def _discard(self, server: _Server) -> None:
        server.session = None
        await self._stop(server)

    async def _stop(self, server: _Server) -> None:
        if server.closing is not None:
            server.closing.set()
        task = server.task
        if task is not None:
            try:
                await asyncio.wait_for(task, 8)
            except (asyncio.TimeoutError, asyncio.CancelledError):
                task.cancel()
        server.task = None

    def close(self) -> None:
        """Stop every server and the loop thread (the app is closing)."""
        if self._closed:
            return
        for name in self._servers:
            self.stop(name)
        with self._loop_lock:
            self._closed = True
            loop, thread = self._loop, self._thread
            self._loop = None
        if loop is not None and thread is not None:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(10)
            loop.close()

    # -- as a tool source ---------------------------------------------------

    def registered_tools(self) -> list[RegisteredTool]:
        """The tools of every server, each server started on first listing; one that fails is left out."""
        out: list[RegisteredTool] = []
        for name in self._servers:
            try:
                infos = self.start(name)
            except McpError:
                continue
            out.extend(RegisteredTool(f"mcp:{name}", self._tool(info)) for info in infos)
        return out

    def _tool(self, info: McpToolInfo) -> Tool:
        def run(invocation: ToolInvocation) -> str:
            return self.call(info.server, info.name, dict(invocation.arguments), invocation.token)

        schema = info.schema if info.schema.get("type") == "object" else {"type": "object", "properties": {}}
        return Tool(
            info.qualified,
            info.description or f"{info.name} from the MCP server {info.server}",
            run,
            schema,
            acting=True,
            label=f"{info.name} ({info.server})",
        )

    def __enter__(self) -> McpHub:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _consume(future: asyncio.Future[Any]) -> None:
    """Mark a future's exception as seen (it is reported by whoever awaited it, or not needed)."""
    if not future.cancelled():
        future.exception()


def _leaf(err: BaseException) -> BaseException:
    # Exception groups (anyio's task groups) hold the real cause; ``exceptions`` is their API.
    inner = getattr(err, "exceptions", None)
    while isinstance(inner, tuple) and inner and isinstance(inner[0], BaseException):
        err = inner[0]
        inner = getattr(err, "exceptions", None)
    return err


def _describe_failure(name: str, err: BaseException, started: bool) -> str:
    leaf = _leaf(err)
    detail = str(leaf) or type(leaf).__name__
    if isinstance(leaf, FileNotFoundError):
        return f"The MCP server {name} could not start: its command was not found ({detail}); check mcp.json."
    if not started:
        return f"The MCP server {name} could not start ({detail}); check its command or url in mcp.json."
    return f"The MCP server {name} failed ({detail}); it will be started again on the next use."
