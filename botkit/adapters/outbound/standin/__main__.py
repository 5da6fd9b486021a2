"""``python -m botkit.adapters.outbound.standin kakao|webhook [--host H] [--port P]``: serve a
stand-in, print the port it listens on, serve until SIGTERM or SIGINT (see ``run.py``)."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

import uvicorn

from botkit.adapters.outbound.standin.kakao import DEFAULT_REST_KEY, KakaoStandIn
from botkit.adapters.outbound.standin.run import started, uvicorn_config
from botkit.adapters.outbound.standin.webhook import WebhookStandIn


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m botkit.adapters.outbound.standin",
        description="A loopback stand-in for Kakao's Event API or a dealer's webhook.",
    )
    parser.add_argument("kind", choices=["kakao", "webhook"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: a free port (printed)")
    parser.add_argument("--rest-key", help="Kakao: the REST key it takes")
    parser.add_argument("--secret", help="webhook: the signing secret")
    args = parser.parse_args(argv)
    if args.kind == "kakao":
        rest_key = args.rest_key or os.environ.get("BOTKIT_STANDIN_REST_KEY") or DEFAULT_REST_KEY
        app = KakaoStandIn(rest_key).app
    else:
        secret = args.secret or os.environ.get("BOTKIT_STANDIN_SECRET")
        if not secret:
            parser.error("the webhook stand-in needs --secret or BOTKIT_STANDIN_SECRET")
        app = WebhookStandIn(secret).app
    asyncio.run(_serve(uvicorn.Server(uvicorn_config(app, args.host, args.port))))


async def _serve(server: uvicorn.Server) -> None:
    serving = asyncio.create_task(server.serve())
    port = await started(server, serving)
    sys.stdout.write(f"{port}\n")
    sys.stdout.flush()
    await serving


if __name__ == "__main__":
    main()
