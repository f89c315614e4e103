"""A small OpenAI-compatible HTTP server on 127.0.0.1 for tests.

It stands in for a hosted model service (the only kind of thing we may stand
in for): chat completions (plain, JSON and streamed) and embeddings. Tests
queue the answers it gives and read back the requests it received.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """One scripted answer: an HTTP error, a delay, or a message's content."""

    content: str = ""
    status: int = 200
    delay: float = 0.0
    body: dict[str, Any] | None = None  # a raw JSON body instead of a completion
    # Seconds after a streamed answer's headers before its first word: a model
    # that took the call, then stays silent.
    first_word_delay: float = 0.0


@dataclass
class StubOpenAI:
    host: str = "127.0.0.1"
    requests: list[dict[str, Any]] = field(default_factory=list)
    replies: deque[Reply] = field(default_factory=deque)
    default_content: str = "OK"
    # Seconds each embeddings request waits before its answer (a slow provider).
    embedding_delay: float = 0.0
    # Seconds between the words of a streamed answer (a model writing slowly).
    stream_word_delay: float = 0.0
    # While true, embeddings requests get no answer at all (a hung provider);
    # each is answered once it is false again, or dropped when the server stops.
    hang_embeddings: bool = False
    _server: ThreadingHTTPServer | None = None
    _stopped: threading.Event = field(default_factory=threading.Event)

    # --- scripting -------------------------------------------------------
    def reply(self, content: str | dict | list, **kwargs: Any) -> None:
        text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
        self.replies.append(Reply(content=text, **kwargs))

    def fail(self, status: int, times: int = 1) -> None:
        for _ in range(times):
            self.replies.append(Reply(status=status))

    def chat_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"].endswith("/chat/completions")]

    # --- lifecycle -------------------------------------------------------
    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://{self.host}:{self._server.server_address[1]}/v1"

    def start(self) -> StubOpenAI:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                payload = json.loads(self.rfile.read(length) or b"{}")
                stub.requests.append({"path": self.path, "json": payload})
                if self.path.endswith("/embeddings"):
                    stub._wait(stub.embedding_delay)
                    while stub.hang_embeddings and not stub._wait(0.05):
                        pass
                    return self._json(200, stub._embeddings(payload))
                reply = stub.replies.popleft() if stub.replies else Reply(stub.default_content)
                if reply.delay:
                    stub._wait(reply.delay)
                if reply.status != 200:
                    error = {"error": {"message": f"stub error {reply.status}", "type": "stub"}}
                    return self._json(reply.status, error)
                if reply.body is not None:
                    return self._json(200, reply.body)
                if payload.get("stream"):
                    return self._stream(payload, reply)
                return self._json(200, stub._completion(payload, reply.content))

            def _json(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting: what a real server sees too

            def _stream(self, payload: dict, reply: Reply) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                self.wfile.flush()
                stub._wait(reply.first_word_delay)
                try:
                    self._words(payload, reply.content)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _words(self, payload: dict, content: str) -> None:
                words = content.split(" ")
                for index, word in enumerate(words):
                    if index:
                        time.sleep(stub.stream_word_delay)
                    piece = word if index == len(words) - 1 else word + " "
                    chunk = {
                        "id": "chatcmpl-stub",
                        "object": "chat.completion.chunk",
                        "created": int(time.time()),
                        "model": payload.get("model", "stub"),
                        "choices": [
                            {"index": 0, "delta": {"content": piece}, "finish_reason": None}
                        ],
                    }
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                    self.wfile.flush()
                done = {
                    "id": "chatcmpl-stub",
                    "object": "chat.completion.chunk",
                    "created": int(time.time()),
                    "model": payload.get("model", "stub"),
                    "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                }
                self.wfile.write(f"data: {json.dumps(done)}\n\ndata: [DONE]\n\n".encode())
                self.wfile.flush()

        self._server = ThreadingHTTPServer((self.host, 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def _wait(self, seconds: float) -> bool:
        """Sleep, cut short when the server stops (so a hung request never outlives a test)."""
        return self._stopped.wait(seconds) if seconds > 0 else self._stopped.is_set()

    def stop(self) -> None:
        self._stopped.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # --- answers ---------------------------------------------------------
    @staticmethod
    def _completion(payload: dict, content: str) -> dict:
        return {
            "id": "chatcmpl-stub",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": payload.get("model", "stub"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
        }

    @staticmethod
    def _embeddings(payload: dict) -> dict:
        """Deterministic vectors from word hashes: similar texts get similar vectors."""
        texts = payload["input"] if isinstance(payload["input"], list) else [payload["input"]]
        size = int(payload.get("dimensions") or 1536)
        data = []
        for index, text in enumerate(texts):
            vector = [0.0] * size
            for word in str(text).lower().split():
                digest = hashlib.sha256(word.encode()).digest()
                vector[int.from_bytes(digest[:4], "big") % size] += 1.0
            norm = math.sqrt(sum(x * x for x in vector)) or 1.0
            data.append(
                {"object": "embedding", "index": index, "embedding": [x / norm for x in vector]}
            )
        return {
            "object": "list",
            "data": data,
            "model": payload.get("model"),
            "usage": {"prompt_tokens": 1, "total_tokens": 1},
        }
