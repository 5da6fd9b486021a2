"""HTTP over a plain socket, for requests an HTTP client will not send whole: 50 MB bodies and
megabyte headers. The answer is read as soon as it starts to come, even while the request is
still being written, so a server that refuses early is seen refusing (and how many bytes it
was sent by then), not as a broken pipe. Also the resident memory of a process, from /proc.
"""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path

__all__ = [
    "MB",
    "RawAnswer",
    "chunked",
    "declared",
    "exchange",
    "request_head",
    "reset_peak",
    "rss_bytes",
    "server_clock",
]

MB = 1024 * 1024
_SLICE = 256 * 1024  # written per send(): the answer is looked for between slices


@dataclass(frozen=True)
class RawAnswer:
    status: int  # 0: the connection closed without an answer
    headers: dict[str, str]  # names in lower case
    body: bytes
    sent: int  # bytes of the request written before the answer began (or the socket closed)


def request_head(method: str, path: str, headers: Mapping[str, str], port: int) -> bytes:
    """The request line and headers (Host and Connection: close added), ready to write."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def declared(size: int, start: bytes = b"") -> Iterator[bytes]:
    """A body of ``size`` bytes (``start``, then spaces) in 1 MB pieces; the caller declares
    ``Content-Length: size``. Spaces: valid JSON padding, so only the size can be refused."""
    yield start
    left = size - len(start)
    while left > 0:
        piece = min(MB, left)
        yield b" " * piece
        left -= piece


def chunked(size: int, start: bytes = b"") -> Iterator[bytes]:
    """The same body with ``Transfer-Encoding: chunked``: no length is known in advance."""
    for piece in declared(size, start):
        if piece:
            yield b"%x\r\n%s\r\n" % (len(piece), piece)
    yield b"0\r\n\r\n"


def exchange(port: int, pieces: Iterable[bytes], timeout: float = 60.0) -> RawAnswer:
    """Write ``pieces`` to 127.0.0.1:``port`` until the answer begins; read the answer."""
    deadline = time.monotonic() + timeout
    received = bytearray()
    sent = 0
    source = iter(pieces)
    pending = memoryview(b"")
    sending = True
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.setblocking(False)
        while time.monotonic() < deadline:
            if sending and not pending:
                piece = next(source, None)
                if piece is None:
                    sending = False
                else:
                    pending = memoryview(piece)
                    continue
            writers = [sock] if sending else []
            readable, writable, _ = select.select([sock], writers, [], 0.5)
            if readable:
                try:
                    data = sock.recv(MB)
                except OSError:  # reset: whatever arrived before it is the answer
                    data = b""
                if not data:
                    break
                received += data
                sending = False  # the answer has begun: the server wants no more
                if _complete(bytes(received)):
                    break
            elif writable:
                try:
                    written = sock.send(pending[:_SLICE])
                except OSError:  # the server closed its side: read what it said, if anything
                    sending = False
                    continue
                sent += written
                pending = pending[written:]
        else:
            raise TimeoutError(f"no complete answer within {timeout:.0f} s ({sent} bytes sent)")
    return _parse(bytes(received), sent)


def _split(data: bytes) -> tuple[int, dict[str, str], bytes] | None:
    head, found, rest = data.partition(b"\r\n\r\n")
    if not found:
        return None
    status_line, *lines = head.decode("latin-1").split("\r\n")
    parts = status_line.split(" ", 2)
    status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, rest


def _complete(data: bytes) -> bool:
    split = _split(data)
    if split is None:
        return False
    _, headers, rest = split
    if "content-length" in headers:
        return len(rest) >= int(headers["content-length"])
    if headers.get("transfer-encoding", "").lower() == "chunked":
        return rest.endswith(b"0\r\n\r\n")
    return False  # read to the end of the connection


def _parse(data: bytes, sent: int) -> RawAnswer:
    split = _split(data)
    if split is None:
        return RawAnswer(0, {}, data, sent)
    status, headers, rest = split
    if headers.get("transfer-encoding", "").lower() == "chunked":
        rest = _unchunk(rest)
    elif "content-length" in headers:
        rest = rest[: int(headers["content-length"])]
    return RawAnswer(status, headers, rest, sent)


def _unchunk(data: bytes) -> bytes:
    out = bytearray()
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out += data[:size]
        data = data[size + 2 :]
    return bytes(out)


def server_clock(port: int) -> float:
    """The server's wall clock (its ``Date`` header), to the second. Under faketime each process
    starts its own clock at the faked instant, so a signed timestamp must come from the server's
    clock, not this process's."""
    answer = exchange(port, [request_head("GET", "/healthz", {}, port)])
    return parsedate_to_datetime(answer.headers["date"]).timestamp()


def rss_bytes(pid: int, field: str = "VmRSS") -> int:
    """The resident memory of process ``pid`` now (``VmRSS``), or its peak (``VmHWM``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    raise LookupError(f"no {field} for process {pid}")


def reset_peak(pid: int) -> bool:
    """Start the process's peak (``VmHWM``) again from its memory now; False where the kernel
    does not let us. A body read whole and freed since shows in the peak, not in VmRSS."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True
