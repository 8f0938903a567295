"""A Bedrock Runtime stand-in on 127.0.0.1 speaking the converse-stream event-stream protocol."""

from __future__ import annotations

import json
import struct
import threading
import zlib
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def _header(name: str, value: str) -> bytes:
    raw_name, raw_value = name.encode(), value.encode()
    # header: name length (1), name, value type 7 = string, value length (2), value
    return (
        struct.pack("!B", len(raw_name))
        + raw_name
        + b"\x07"
        + struct.pack("!H", len(raw_value))
        + raw_value
    )


def event_frame(event_type: str, payload: dict[str, Any]) -> bytes:
    """One `application/vnd.amazon.eventstream` message: prelude, headers, payload, CRCs."""
    headers = (
        _header(":event-type", event_type)
        + _header(":content-type", "application/json")
        + _header(":message-type", "event")
    )
    body = json.dumps(payload).encode()
    total = 12 + len(headers) + len(body) + 4
    prelude = struct.pack("!II", total, len(headers))
    prelude += struct.pack("!I", zlib.crc32(prelude) & 0xFFFFFFFF)
    message = prelude + headers + body
    return message + struct.pack("!I", zlib.crc32(message) & 0xFFFFFFFF)


def converse_stream_frames(pieces: list[str]) -> bytes:
    """The frames Bedrock sends for an answer made of `pieces`."""
    frames = [event_frame("messageStart", {"role": "assistant"})]
    frames += [
        event_frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": piece}})
        for piece in pieces
    ]
    frames += [
        event_frame("contentBlockStop", {"contentBlockIndex": 0}),
        event_frame("messageStop", {"stopReason": "end_turn"}),
        event_frame(
            "metadata",
            {
                "usage": {
                    "inputTokens": 50,
                    "outputTokens": len(pieces),
                    "totalTokens": 50 + len(pieces),
                },
                "metrics": {"latencyMs": 12},
            },
        ),
    ]
    return b"".join(frames)


@dataclass
class FakeBedrock:
    """Answers converse-stream with `pieces`, or fails with `error_status` on every call."""

    pieces: list[str] = field(default_factory=lambda: ["Hello", " world"])
    error_status: int | None = None
    requests: list[dict[str, Any]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        """Base URL to give botocore as endpoint_url."""
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_port}"

    def start(self) -> FakeBedrock:
        """Serve on a free port of 127.0.0.1 in a daemon thread."""
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                fake.paths.append(self.path)
                fake.requests.append(json.loads(self.rfile.read(length) or b"{}"))
                if fake.error_status is not None:
                    body = json.dumps({"message": "Rate exceeded"}).encode()
                    self.send_response(fake.error_status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("x-amzn-ErrorType", "ThrottlingException")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                if not self.path.endswith("/converse-stream"):
                    self.send_error(404, "only converse-stream is served")
                    return
                body = converse_stream_frames(fake.pieces)
                self.send_response(200)
                self.send_header("Content-Type", "application/vnd.amazon.eventstream")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Shut the server down."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
