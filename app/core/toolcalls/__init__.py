"""Tool calling below the chat: what a tool is (``tools``), the tool calls in a
streamed answer (``parser``) and every tool on offer (``registry``).

These are leaf modules so the plugin layer (which collects tools from plugins)
and the server client (which reads calls out of a server's stream) can use
them without importing agent mode (``app.core.agent``), which sits above both.
"""
