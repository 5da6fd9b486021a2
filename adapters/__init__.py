"""The channel adapters live in ``botkit/adapters`` and are imported as ``botkit.adapters``.

This folder is the entry point the repository layout promises: it is a thin package, so
``import adapters`` from a checkout reaches the same modules. Only ``botkit`` is installed by a
wheel, because other PyPI distributions already own the bare name ``adapters``.
"""

from botkit.adapters import kakao, web

__all__ = ["kakao", "web"]
