"""Messages to people (alerts to a chat group, a ticket queue) that are never lost and never sent twice.

Every message has a stable id (re-running a job for the same date makes the same ids). Before
anything is sent, each new message is written to the channel's outbox; a message leaves the outbox
only once the channel has accepted it, and its id is then recorded as sent. So a channel that is
down keeps its messages for the next run, a re-run sends nothing twice, and one channel failing
does not hold back the others. The one window left: a process killed between a channel's
acceptance and the record of it (milliseconds) sends that message again on the next run.

Channels are apprise URLs (webhooks, DingTalk, WeCom, Feishu / Lark, Slack, e-mail...): a
maintained library rather than hand-written HTTP. Secrets stay in the environment: a URL names them
as ``${VARIABLE}`` and is expanded only at send time; logs and errors name the channel, never the URL.

Files, under the outbox root::

    pending/<channel>/<message id>.json   waiting to be sent
    sent/<channel>/<message id>           sent (empty marker)
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from kpredict.errors import ConfigError
from kpredict.io import write_text

__all__ = ["DeliveryReport", "Message", "Outbox", "deliver", "expand_secrets"]

logger = logging.getLogger(__name__)

_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class Message:
    """One message: a stable id (file-name safe), a title and a plain-text body."""

    id: str
    title: str
    body: str

    def __post_init__(self) -> None:
        if not _SAFE.match(self.id):
            raise ValueError(f"message ids are letters, digits, '_', '.', '-' (at most 128); got {self.id!r}")


@dataclass
class DeliveryReport:
    """Per channel: messages sent now, messages still waiting, and why a channel failed."""

    sent: dict[str, int] = field(default_factory=dict)
    waiting: dict[str, int] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failed


class Outbox:
    """The pending and sent messages of every channel, as files under ``root``."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _pending_dir(self, channel: str) -> Path:
        return self.root / "pending" / _checked(channel)

    def _sent_dir(self, channel: str) -> Path:
        return self.root / "sent" / _checked(channel)

    def is_sent(self, channel: str, message_id: str) -> bool:
        return (self._sent_dir(channel) / message_id).exists()

    def enqueue(self, channel: str, messages: Iterable[Message]) -> int:
        """Write the messages not yet pending or sent for ``channel``; returns how many were new."""
        new = 0
        for message in messages:
            path = self._pending_dir(channel) / f"{message.id}.json"
            if path.exists() or self.is_sent(channel, message.id):
                continue
            write_text(json.dumps(asdict(message), ensure_ascii=False, sort_keys=True), path)
            new += 1
        return new

    def pending(self, channel: str) -> list[tuple[Path, Message]]:
        """The channel's waiting messages, oldest id order first (ids sort by time where jobs make them so)."""
        directory = self._pending_dir(channel)
        if not directory.is_dir():
            return []
        out = []
        for path in sorted(directory.glob("*.json")):
            message = Message(**json.loads(path.read_text(encoding="utf-8")))
            if self.is_sent(channel, message.id):  # sent, but the process stopped before clearing it
                path.unlink(missing_ok=True)
                continue
            out.append((path, message))
        return out

    def mark_sent(self, channel: str, message: Message, pending_path: Path) -> None:
        """Record ``message`` as sent, then clear it from the pending messages."""
        write_text("", self._sent_dir(channel) / message.id)
        pending_path.unlink(missing_ok=True)


def _checked(channel: str) -> str:
    if not _SAFE.match(channel):
        raise ConfigError(f"channel names are letters, digits, '_', '.', '-'; got {channel!r}")
    return channel


def expand_secrets(url: str, channel: str, environ: Mapping[str, str] | None = None) -> str:
    """``${NAME}`` → the environment variable's value.

    Raises:
        ConfigError: a variable is not set (named, its value never shown).
    """
    environ = os.environ if environ is None else environ
    missing = [name for name in _VARIABLE.findall(url) if name not in environ]
    if missing:
        raise ConfigError(f"channel {channel!r} needs environment variable(s) {missing}, which are not set")
    return _VARIABLE.sub(lambda match: environ[match.group(1)], url)


@contextlib.contextmanager
def _quiet_transport() -> Iterator[None]:
    """apprise and urllib3 log targets with their paths (where webhook tokens live) at debug level and
    failures at warning level; ours say which channel, never the URL."""
    loggers = [logging.getLogger(name) for name in ("apprise", "urllib3")]
    levels = [each.level for each in loggers]
    for each in loggers:
        each.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for each, level in zip(loggers, levels):
            each.setLevel(level)


def _apprise_sender(url: str) -> Callable[[Message], bool] | None:
    import apprise

    notifier = apprise.Apprise()
    if not notifier.add(url):
        return None
    return lambda message: bool(notifier.notify(title=message.title, body=message.body))


def deliver(
    messages: list[Message],
    channels: Mapping[str, str],
    outbox: Outbox,
    *,
    sender: Callable[[str], Callable[[Message], bool] | None] = _apprise_sender,
) -> DeliveryReport:
    """Queue ``messages`` for every channel, then send each channel's waiting messages in order.

    A channel that refuses a message stops there for this run (it is down); its messages wait.

    Args:
        channels: channel name → apprise URL (``${VAR}`` placeholders for secrets).
        sender: builds the send function of a URL (None when the URL is not understood); tests
            and other transports replace it.
    """
    report = DeliveryReport()
    for channel, template in channels.items():
        outbox.enqueue(channel, messages)
        sent = 0
        waiting = outbox.pending(channel)
        with _quiet_transport():
            try:
                send = sender(expand_secrets(template, channel))
            except ConfigError as exc:
                send, reason = None, str(exc)
            else:
                reason = "its URL is not one apprise understands (check the scheme)"
            if send is None:
                report.failed[channel] = reason
            else:
                for path, message in waiting:
                    try:
                        accepted = send(message)
                    except Exception as exc:  # a transport error is the channel being down: keep the message
                        accepted = False
                        logger.debug("channel %s raised %s", channel, type(exc).__name__)
                    if not accepted:
                        report.failed[channel] = "the channel did not accept a message (down or refusing)"
                        break
                    outbox.mark_sent(channel, message, path)
                    sent += 1
        report.sent[channel] = sent
        report.waiting[channel] = len(waiting) - sent
        if channel in report.failed:
            logger.warning("channel %s: %s; %d message(s) wait in the outbox for the next run", channel, report.failed[channel], report.waiting[channel])
        else:
            logger.info("channel %s: sent %d message(s)", channel, sent)
    return report
