"""Agent mode: the model calls tools (the plugins' and MCP servers'), each step shown and approved.

Modules, one job each: ``tools`` (what a tool is), ``parser`` (tool calls out of
a streamed answer), ``registry`` (every tool on offer), ``executor`` (running
one call: checks, time limit, Stop, size), ``permissions`` (who lets an acting
tool run), ``run`` (the loop behind the window and ``quillpad chat --agent``),
``mcp`` (the MCP client). Nothing is imported here, so the plugin manager can
import ``tools`` without pulling in the chat session.
"""
