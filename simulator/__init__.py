"""The console simulator and conversation tests live in ``botkit/simulator`` and are imported as
``botkit.simulator``.

This folder is the entry point the repository layout promises: it is a thin package, so
``import simulator`` from a checkout reaches the same modules. Only ``botkit`` is installed by a
wheel, because other PyPI distributions already own the bare name ``simulator``.
"""

from botkit.simulator import runner, shell, suite, testfile

__all__ = ["runner", "shell", "suite", "testfile"]
