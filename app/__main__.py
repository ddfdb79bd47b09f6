"""``python -m app`` runs the same command as ``quillpad``; it is also the desktop binary's entry script."""

import multiprocessing
import sys


def run() -> int:
    """Start the command, or one of the desktop binary's helper processes."""
    # In the frozen binary a spawned engine worker or llama probe starts
    # here: this runs it and exits (a no-op everywhere else).
    multiprocessing.freeze_support()
    from app.core.frozen import SANDBOX_LAUNCHER_ARG

    if sys.argv[1:2] == [SANDBOX_LAUNCHER_ARG]:
        # The binary has no Python interpreter to run the sandbox launcher
        # with, so it is the launcher (see app.core.sandbox.runner).
        from app.core.sandbox.launcher import main as launch

        return launch(sys.argv[1:])
    from app.cli import main

    return main()


if __name__ == "__main__":
    sys.exit(run())
