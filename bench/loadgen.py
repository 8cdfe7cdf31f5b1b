"""A small HTTP/1.1 load generator for bench_load.py: N keep-alive connections, each sending
its next request as soon as the last answer is read, for a fixed time. Reads its spec as
JSON on stdin and prints its figures as JSON. Raw asyncio streams (and uvloop): an HTTP
client library would cost more CPU per request than the servers being measured."""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
from urllib.parse import urlsplit


def _request(spec: dict, host: str, subject: str) -> bytes:
    path = spec["path"].replace("{subject}", subject)
    lines = [f"{spec['method']} {path} HTTP/1.1", f"Host: {host}", *spec["headers"]]
    body = b""
    if spec.get("body"):
        body = spec["body"].replace("{subject}", subject).encode()
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _connection(spec: dict, deadline: float, latencies: list, codes: dict) -> int:
    url = urlsplit(spec["url"])
    host, port = url.hostname, url.port
    errors = 0
    rng = random.Random()
    reader = writer = None
    while time.perf_counter() < deadline:
        if writer is None:
            reader, writer = await asyncio.open_connection(host, port)
        message = _request(spec, f"{host}:{port}", rng.choice(spec["subjects"]))
        t = time.perf_counter()
        try:
            writer.write(message)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length, close = 0, False
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"connection" and value.strip().lower() == b"close":
                    close = True
            await reader.readexactly(length)
        except (OSError, asyncio.IncompleteReadError, ValueError):
            errors += 1
            writer.close()
            reader = writer = None
            continue
        latencies.append(time.perf_counter() - t)
        codes[status] = codes.get(status, 0) + 1
        if status >= 400:
            errors += 1
        if close:
            writer.close()
            reader = writer = None
    if writer is not None:
        writer.close()
    return errors


async def generate(spec: dict) -> dict:
    latencies: list[float] = []
    codes: dict[int, int] = {}
    start = time.perf_counter()
    deadline = start + spec["seconds"]
    errors = await asyncio.gather(
        *(_connection(spec, deadline, latencies, codes) for _ in range(spec["connections"]))
    )
    elapsed = time.perf_counter() - start
    latencies.sort()

    def pct(p: float) -> float:
        return 1000 * latencies[min(len(latencies) - 1, int(p * len(latencies)))]

    return {
        "requests": len(latencies),
        "seconds": elapsed,
        "rps": len(latencies) / elapsed,
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "max_ms": 1000 * latencies[-1],
        "errors": sum(errors),
        "codes": {str(k): v for k, v in sorted(codes.items())},
    }


def main() -> None:
    spec = json.loads(sys.stdin.read())
    try:
        import uvloop  # noqa: PLC0415 - optional speed-up

        uvloop.install()
    except ImportError:
        pass
    print(json.dumps(asyncio.run(generate(spec))))


if __name__ == "__main__":
    main()
