"""What the graceful-life tests need around a service: run it as a real process and SIGTERM it, ask
whether it answers /readyz, read a group's committed offsets, and an SMTP server that holds mail.

Kubernetes stops a pod by sending SIGTERM to its main process (after the preStop pause) and SIGKILL
when the grace period is over; `TerminableService.sigterm` does the first half of that.
"""

from __future__ import annotations

import asyncio
import email.policy
import subprocess
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from pydantic import SecretStr

from devtools.platform import ServiceProcess
from devtools.servers import HOST, free_port
from helpdesk_events.settings import ServiceSettings


def environment_of(settings: ServiceSettings) -> dict[str, str]:
    """The settings under the environment names the service reads; the HTTP address is ServiceProcess's."""
    values = settings.model_dump(exclude={"http_host", "http_port"}, exclude_none=True)
    return {
        name.upper(): value.get_secret_value() if isinstance(value, SecretStr) else str(value)
        for name, value in values.items()
    }


class TerminableService(ServiceProcess):
    """A service process the test stops itself, with SIGTERM to the service alone (not its group)."""

    def sigterm(self) -> float:
        """Send SIGTERM; the moment it was sent (time.monotonic)."""
        assert self._proc is not None, "not running"
        sent = time.monotonic()
        self._proc.terminate()
        return sent

    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def wait_exit(self, timeout: float) -> tuple[int | None, float]:
        """(exit code, or None if it still runs after `timeout` s; when it was seen to end)."""
        assert self._proc is not None, "not running"
        try:
            code = self._proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None, time.monotonic()
        return code, time.monotonic()

    def log(self, last: int = 4000) -> str:
        path = self.log_path
        try:
            return f"{path}, ending:\n" + (path.read_text(errors="replace")[-last:] if path else "")
        except OSError:
            return f"{path} (unreadable)"


@asynccontextmanager
async def service_process(
    service: str, settings: ServiceSettings, log_dir: Path
) -> AsyncIterator[TerminableService]:
    """`python -m helpdesk_<service>` on `settings`, ready (/readyz 200); stopped at the end if running."""
    process = TerminableService(service, free_port(), environment_of(settings), log_dir)
    try:
        await asyncio.to_thread(process.start)  # polls with sleeps: in a thread, so the loop runs on
        yield process
    finally:
        await asyncio.to_thread(process.stop)


async def readyz(http: httpx.AsyncClient) -> int | None:
    """The status /readyz answers, or None when nothing answers (connection refused): not ready either."""
    try:
        return (await http.get("/readyz", timeout=3)).status_code
    except httpx.TransportError:
        return None


async def committed_offsets(bootstrap_servers: str, group_id: str, topic: str) -> dict[int, int]:
    """The group's committed offset (next record to read) of each partition of `topic` it committed.

    Asked through a consumer of the group that never joins it (`committed` is an OffsetFetch): the admin
    client's list_consumer_group_offsets fails on the embedded broker (a response aiokafka cannot decode).
    """
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers, group_id=group_id, enable_auto_commit=False
    )
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()
        partitions = sorted(consumer.partitions_for_topic(topic) or ())
        assert partitions, f"topic {topic} does not exist"
        offsets = {p: await consumer.committed(TopicPartition(topic, p)) for p in partitions}
    finally:
        await consumer.stop()
    return {partition: offset for partition, offset in offsets.items() if offset is not None}


class GatedSmtp:
    """An SMTP server that holds every mail at DATA, unanswered, until the test opens the gate.

    A handler sending a mail through it is in the middle of its work for as long as the gate is
    shut: the moment to SIGTERM its service. Mail taken once the gate is open is kept in `messages`.
    """

    def __init__(self) -> None:
        self.host = HOST
        self.port = 0
        self.messages: list[EmailMessage] = []
        self.held = threading.Event()  # a mail is waiting at the gate
        self._open = threading.Event()
        self._controller: Any = None

    def open(self) -> None:
        self._open.set()

    def __enter__(self) -> GatedSmtp:
        from aiosmtpd.controller import Controller

        self.port = free_port()
        self._controller = Controller(self, hostname=self.host, port=self.port)
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._open.set()  # let held sessions end, so the server thread can stop
        self._controller.stop()

    # aiosmtpd calls handle_<VERB> by name.
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.held.set()
        while not self._open.is_set():
            await asyncio.sleep(0.02)
        raw = envelope.original_content or envelope.content
        message = BytesParser(policy=email.policy.default).parsebytes(raw)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 Message accepted for delivery"
