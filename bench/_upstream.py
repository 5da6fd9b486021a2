"""The processes ``bench.http_kakao --upstream`` runs besides `botkit serve`: the courier the
reference bot's ``lookup_order`` calls, the echo endpoint that gives the ceiling, and a
profiled `botkit serve`.

    python -m bench._upstream order|not_found|echo PORT   # a Starlette app on uvicorn
    python -m bench._upstream profile OUT.prof ARGS...     # `botkit ARGS...` under cProfile

All three apps run on the stack `botkit serve` runs on (Starlette, uvicorn, uvloop, httptools,
no access log), on loopback only, and answer at once: the bench measures botkit, not them.

``order`` answers ``GET /orders/{order_no}`` with the order status the flow reads (``status``,
``delivery.eta``, ``delivery.courier``: the fields ``flows/tests/demo.fixtures.yaml`` gives);
``not_found`` answers it 404, which the flow maps to ``not_found``; ``echo`` answers ``POST
/kakao/skill`` with a SkillResponse that echoes the utterance and offers the quick reply the
load generator presses, after parsing the payload as any skill must. Each answers ``GET
/readyz`` 200 once it listens, so :func:`bench.served.wait_ready` waits for it.

The bot's action URL is fixed in ``flows/bot.yaml`` (``http://127.0.0.1:8089/...``), so the
bench copies the flows to a temporary directory and points the URL there at the upstream's
free-chosen port (:func:`flows_for`); the fixtures file it is served with is the demo's
without the ``lookup_order`` fixture, so that the lookup goes over HTTP while the variant and
the refund stay pinned.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Coroutine
from pathlib import Path
from types import FrameType
from typing import Any, Protocol, TypeVar

import orjson
import uvicorn
import uvloop
import yaml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bench.calibrate import calibrate
from bench.served import (
    FIXTURES,
    FLOWS,
    ROOT,
    Latency,
    Served,
    free_port,
    per_request,
    print_table,
    process_cpu_s,
    read_back,
    run_server,
    stop_server,
    tail,
    wait_ready,
)

__all__ = ["MODES", "UPSTREAM_MODES", "Upstream", "flows_for", "run_upstream"]

MODES = ("order", "not_found", "echo")
UPSTREAM_MODES = {"http": "order", "404": "not_found", "refused": "refused"}  # --upstream
UPSTREAM_TARGETS = {"of_ceiling": 0.5, "p99_ms": 50}  # issue #22
ACTION_URL = "http://127.0.0.1:8089/orders/"  # lookup_order's, in flows/bot.yaml
ORDER = {"status": "배송중", "delivery": {"eta": "11월 27일", "courier": "CJ대한통운"}}
PRESS = "배송 조회"  # the quick reply the load generator presses (bench.http_kakao.PRESS)
T = TypeVar("T")
Outcome = tuple[list[tuple[str, str]], list[str], dict[str, Any]]


class Loaded(Protocol):
    """What a load left (bench.http_kakao.Tally): the part the comparison reads."""

    latencies: list[float]
    errors: dict[str, int]
    seconds: float
    client_cpu_s: float
    server_cpu_s: float | None


L = TypeVar("L", bound=Loaded)


class _OrjsonResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


async def _ready(request: Request) -> Response:
    return Response(b"ok", media_type="text/plain")


async def _order(request: Request) -> Response:
    return _OrjsonResponse({"order_no": request.path_params["order_no"], **ORDER})


async def _not_found(request: Request) -> Response:
    return JSONResponse({"error": "no such order"}, status_code=404)


async def _echo(request: Request) -> Response:
    payload = orjson.loads(await request.body())
    utterance = payload["userRequest"]["utterance"]
    reply = {"label": PRESS, "action": "message", "messageText": PRESS, "extra": {"p": "order"}}
    return _OrjsonResponse(
        {
            "version": "2.0",
            "template": {
                "outputs": [{"simpleText": {"text": utterance}}],
                "quickReplies": [reply],
            },
        }
    )


def app(mode: str) -> Starlette:
    """The upstream of ``mode`` (one of MODES)."""
    routes = [Route("/readyz", _ready)]
    if mode == "echo":
        routes.append(Route("/kakao/skill", _echo, methods=["POST"]))
    else:
        handler = _order if mode == "order" else _not_found
        routes.append(Route("/orders/{order_no}", handler))
    return Starlette(routes=routes)


def _serve(mode: str, port: int) -> None:
    config = uvicorn.Config(
        app(mode),
        host="127.0.0.1",
        port=port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
        lifespan="off",
        server_header=False,
    )
    uvicorn.Server(config).run()


def _profile(out: str, argv: list[str]) -> None:
    """`botkit argv...` under cProfile, the statistics written to ``out`` when it stops.

    uvicorn catches SIGTERM, shuts down gracefully, restores the handler it found and raises
    the signal again: the handler set here, which writes the profile and exits 0."""
    from botkit.cli.main import cli

    profiler = cProfile.Profile()

    def stop(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(0)  # through the finally below

    signal.signal(signal.SIGTERM, stop)
    profiler.enable()
    try:
        cli.main(args=argv, prog_name="botkit")
    finally:
        profiler.disable()
        profiler.dump_stats(out)


class Upstream:
    """An upstream process (``order``, ``not_found`` or ``echo``) on a free loopback port,
    as a context manager; ``refused`` starts nothing and names a port nobody listens on."""

    def __init__(self, mode: str, log_dir: Path) -> None:
        self.mode = mode
        self.port = free_port()  # closed again at once: with "refused" it refuses
        self.log = log_dir / f"upstream-{mode}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cpu_s(self) -> float:
        """CPU seconds the process has used so far (0 with nothing running, or without /proc)."""
        return (process_cpu_s(self.process.pid) or 0.0) if self.process is not None else 0.0

    def __enter__(self) -> Upstream:
        if self.mode == "refused":
            return self
        command = [sys.executable, "-m", "bench._upstream", self.mode, str(self.port)]
        with self.log.open("wb") as log_file:
            self.process = subprocess.Popen(
                command, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=log_file,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        wait_ready(self.process, self.base, self.log)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            stop_server(self.process)
            self.process = None


def flows_for(upstream: str, into: Path) -> tuple[Path, Path]:
    """A copy of ``flows/`` in ``into`` whose ``lookup_order`` calls ``upstream``, and a copy
    of the demo fixtures without the ``lookup_order`` fixture: (flows, fixtures)."""
    flows = into / "flows"
    shutil.copytree(FLOWS, flows)
    bot = flows / "bot.yaml"
    text = bot.read_text("utf-8")
    if text.count(ACTION_URL) != 1:
        raise SystemExit(f"expected {ACTION_URL!r} once in {FLOWS / 'bot.yaml'}")
    bot.write_text(text.replace(ACTION_URL, f"{upstream}/orders/"), "utf-8")
    fixtures = yaml.safe_load(FIXTURES.read_text("utf-8"))
    del fixtures["fixtures"]["actions"]["lookup_order"]
    fixtures_file = into / "upstream.fixtures.yaml"
    fixtures_file.write_text(yaml.safe_dump(fixtures, allow_unicode=True), "utf-8")
    return flows, fixtures_file


def serve_flows_and_load(
    upstream: str,
    load: Callable[[int, int], Coroutine[Any, Any, T]],
    *,
    profile: Path | None = None,
) -> tuple[T, Served]:
    """:func:`bench.served.serve_and_load` (one worker, a fresh SQLite file) for the flows
    copied with ``lookup_order`` pointed at ``upstream``; under cProfile into ``profile``."""
    with tempfile.TemporaryDirectory(prefix="botkit-bench-upstream-") as tmp:
        flows, fixtures = flows_for(upstream, Path(tmp))
        db, log = Path(tmp) / "bench.db", Path(tmp) / "server.log"
        port = free_port()
        store_url = f"sqlite:///{db}"
        botkit = [
            "serve", str(flows), "--host", "127.0.0.1", "--port", str(port),
            "--store", store_url, "--fixtures", str(fixtures),
        ]  # fmt: skip
        if profile is None:
            command = [sys.executable, "-m", "botkit.cli.main", *botkit]
        else:
            command = [sys.executable, "-m", "bench._upstream", "profile", str(profile), *botkit]
        # COURIER_API_TOKEN fills the lookup's Authorization header; a made-up one per run
        env = {"COURIER_API_TOKEN": uuid.uuid4().hex}
        result, ready_s, (exit_code, stop_s, killed) = run_server(
            command, port, log, env, lambda pid: load(port, pid)
        )
        records, message_in = asyncio.run(read_back(store_url, drop=False))
        clean = not killed and exit_code in (0, -signal.SIGTERM)
        served = Served(
            command, ready_s, stop_s, exit_code, killed, records, message_in,
            "" if clean else tail(log, 5),
        )  # fmt: skip
    return result, served


def run_upstream(
    args: argparse.Namespace,
    load_at: Callable[[str, int], Coroutine[Any, Any, L]],
    outcome: Callable[[L, Served, tuple[float, float]], Outcome],
) -> dict[str, Any]:
    """The echo ceiling, then botkit with ``lookup_order`` over HTTP to a loopback upstream
    process (``--upstream``: one that answers, one that answers 404, or a closed port), in
    the same run and with the same load generator (``load_at(base, pid)``); the table with
    their ratio, and the JSON line's figures. ``outcome`` gives botkit's rows, notes and
    figures (bench.http_kakao.outcome)."""
    speed_before = calibrate()
    with tempfile.TemporaryDirectory(prefix="botkit-bench-upstream-") as tmp:
        with Upstream("echo", Path(tmp)) as echo:
            assert echo.process is not None
            with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
                ceiling = runner.run(load_at(echo.base, echo.process.pid))
        with Upstream(UPSTREAM_MODES[args.upstream], Path(tmp)) as upstream:
            upstream_cpu = upstream.cpu_s()
            tally, served = serve_flows_and_load(
                upstream.base,
                lambda port, pid: load_at(f"http://127.0.0.1:{port}", pid),
                profile=args.profile,
            )
            upstream_cpu = upstream.cpu_s() - upstream_cpu
    calibration = (speed_before, calibrate())
    rows, notes, figures = outcome(tally, served, calibration)
    echo_rate = rate_of(ceiling)
    echo_latency = Latency.of(ceiling.latencies)
    echo_errors = sum(ceiling.errors.values())
    ratio = figures["req_per_s"] / echo_rate if echo_rate else 0.0
    rows = [
        ("upstream", f"{args.upstream} ({upstream.base}, a separate process)"),
        ("echo ceiling req/s (same stack, same load)", f"{echo_rate:.0f}"),
        ("echo latency p50 / p99 (ms)", f"{echo_latency.p50:.1f} / {echo_latency.p99:.1f}"),
        ("echo errors", f"{echo_errors} {ceiling.errors or ''}".strip()),
        ("echo CPU ms per request: load gen / server", echo_cpu(ceiling)),
        *rows,
        ("upstream CPU s (whole botkit run)", f"{upstream_cpu:.1f}"),
        ("botkit / echo ceiling", f"{ratio:.2f}"),
    ]
    if args.profile is not None:
        notes.append(f"server profile: {args.profile} (python -m pstats)")
    print_table(rows, calibration, notes, served)
    upstream_met = ratio >= UPSTREAM_TARGETS["of_ceiling"] and figures["met_p99_errors_persisted"]
    return {
        **figures,
        "upstream": args.upstream,
        "echo_req_per_s": round(echo_rate, 1),
        "echo_p99_ms": round(echo_latency.p99, 2),
        "echo_errors": echo_errors,
        "ratio_to_echo": round(ratio, 3),
        "upstream_cpu_s": round(upstream_cpu, 2),
        "targets": UPSTREAM_TARGETS,
        "met": upstream_met,
    }


def rate_of(tally: Loaded) -> float:
    return len(tally.latencies) / tally.seconds if tally.seconds > 0 else 0.0


def echo_cpu(tally: Loaded) -> str:
    count = len(tally.latencies)
    return f"{per_request(tally.client_cpu_s, count)} / {per_request(tally.server_cpu_s, count)}"


def main(argv: list[str]) -> None:
    if len(argv) >= 2 and argv[0] == "profile":
        _profile(argv[1], argv[2:])
    elif len(argv) == 2 and argv[0] in MODES:
        _serve(argv[0], int(argv[1]))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
