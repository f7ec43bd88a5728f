"""Alert delivery through the outbox, against a real HTTP server on 127.0.0.1 that the tests start and
stop: a channel down keeps its messages, a re-run sends nothing twice, one channel failing does not
hold back another, and secrets come from the environment without reaching logs."""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from kpredict.delivery import Message, Outbox, deliver


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def receiver(port: int) -> Iterator[list[dict]]:
    """An HTTP server on 127.0.0.1:port that records every JSON body posted to it (with its path)."""
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (the http.server API)
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            received.append(body | {"path": self.path})
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield received
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def messages(*ids: str) -> list[Message]:
    return [Message(i, f"title {i}", f"body {i}") for i in ids]


def test_a_channel_that_is_down_keeps_its_messages_and_sends_each_once_when_up(tmp_path):
    port = free_port()
    channels = {"ops": f"json://127.0.0.1:{port}/alerts"}
    outbox = Outbox(tmp_path / "outbox")
    down = deliver(messages("a1", "a2"), channels, outbox)
    assert not down.ok and down.waiting == {"ops": 2} and down.sent == {"ops": 0}
    assert sorted(p.name for p in (tmp_path / "outbox" / "pending" / "ops").iterdir()) == ["a1.json", "a2.json"]
    with receiver(port) as received:
        up = deliver(messages("a1", "a2", "a3"), channels, outbox)  # the re-run of the same job, plus a new alert
        again = deliver(messages("a1", "a2", "a3"), channels, outbox)  # a duplicate run
    assert up.ok and up.sent == {"ops": 3} and again.sent == {"ops": 0}
    assert [r["title"] for r in received] == ["title a1", "title a2", "title a3"]
    assert received[0]["message"] == "body a1" and received[0]["path"] == "/alerts"
    assert not list((tmp_path / "outbox" / "pending" / "ops").iterdir())


def test_one_channel_down_does_not_hold_back_another(tmp_path):
    up_port, down_port = free_port(), free_port()
    channels = {"chat": f"json://127.0.0.1:{up_port}/", "tickets": f"json://127.0.0.1:{down_port}/"}
    with receiver(up_port) as received:
        report = deliver(messages("b1", "b2"), channels, Outbox(tmp_path))
    assert report.sent == {"chat": 2, "tickets": 0} and report.waiting == {"chat": 0, "tickets": 2}
    assert set(report.failed) == {"tickets"} and len(received) == 2
    with receiver(down_port) as late:
        report = deliver(messages("b1", "b2"), channels, Outbox(tmp_path))
    assert report.ok and report.sent == {"chat": 0, "tickets": 2} and len(late) == 2


def test_secrets_come_from_the_environment_and_never_reach_logs_or_reports(tmp_path, monkeypatch, caplog):
    port = free_port()
    monkeypatch.setenv("KP_TEST_HOOK_TOKEN", "s3cr3t-token")
    channels = {"ops": f"json://127.0.0.1:{port}/hook/${{KP_TEST_HOOK_TOKEN}}"}
    with caplog.at_level(logging.DEBUG):
        down = deliver(messages("c1"), channels, Outbox(tmp_path))
        with receiver(port) as received:
            up = deliver(messages("c1"), channels, Outbox(tmp_path))
    assert received[0]["path"] == "/hook/s3cr3t-token" and up.ok
    assert "s3cr3t-token" not in caplog.text and "s3cr3t-token" not in repr(down) + repr(up)
    monkeypatch.delenv("KP_TEST_HOOK_TOKEN")
    missing = deliver(messages("c2"), channels, Outbox(tmp_path))
    assert missing.failed == {"ops": "channel 'ops' needs environment variable(s) ['KP_TEST_HOOK_TOKEN'], which are not set"}
    assert missing.waiting == {"ops": 1}


def test_a_url_apprise_does_not_understand_is_a_failed_channel_not_a_crash(tmp_path):
    report = deliver(messages("d1"), {"ops": "nosuchscheme://x"}, Outbox(tmp_path))
    assert report.failed == {"ops": "its URL is not one apprise understands (check the scheme)"} and report.waiting == {"ops": 1}


def test_message_ids_and_channel_names_are_file_safe(tmp_path):
    with pytest.raises(ValueError, match="message ids are letters"):
        Message("../x", "t", "b")
    from kpredict.errors import ConfigError

    with pytest.raises(ConfigError, match="channel names are letters"):
        Outbox(tmp_path).enqueue("../ops", messages("e1"))
