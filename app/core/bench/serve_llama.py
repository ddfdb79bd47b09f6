"""``python -m app.core.bench.serve_llama ARGS``: llama-cpp-python's server, its models opened like ours.

The arguments are ``llama_cpp.server``'s. The server opens its model itself, so
it runs inside ``model_defaults``: on a CPU whose llama.cpp AMX kernels crash
(see ``app.core.engine.llama_open``) it would otherwise die at its first reply.
"""

from __future__ import annotations

import runpy
import sys

from app.core.engine.llama_open import model_defaults


def main() -> None:
    """Run ``llama_cpp.server`` with this process's arguments."""
    sys.argv[0] = "llama_cpp.server"
    with model_defaults():
        runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
