"""Settings of the web widget (``web:`` in ``serve.yaml``, ``BOTKIT_WEB_*``).

They live with the adapter that reads them; :mod:`botkit.server.config` gathers them with the
server's own and loads them from the file and the environment.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["WebSettings"]


@dataclass(frozen=True, slots=True)
class WebSettings:
    # Pages allowed to open the widget's socket besides the server's own origin, e.g.
    # "https://shop.example.com"; "*" allows any (a public demo only).
    origins: tuple[str, ...] = ()
    rate: int = 10  # messages per session ...
    rate_per_s: float = 10.0  # ... per this many seconds
    # A socket frame over this is answered `too_large`; a POST /web/messages body, 413.
    max_frame_bytes: int = 16 * 1024
    # A socket message over this closes the socket (1009) before it is read whole: uvicorn's
    # ws_max_size, which would otherwise let each socket hold 16 MiB.
    max_socket_bytes: int = 64 * 1024
    max_bad_frames: int = 10  # then the connection is closed with 1008
    test_hooks: bool = False  # POST /web/_drop closes every socket (browser tests only)
