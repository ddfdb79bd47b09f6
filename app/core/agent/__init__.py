"""Agent mode: the model calls tools (the plugins' and MCP servers'), each step shown and approved.

Modules, one job each (what a tool is, the call parser and the registry are
below, in ``app.core.toolcalls``): ``executor`` (running
one call: checks, time limit, Stop, size), ``permissions`` (who lets an acting
tool run), ``run`` (the loop behind the window and ``quillpad chat --agent``),
``mcp`` (the MCP client). Nothing is imported here.
"""
