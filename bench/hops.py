"""Per-hop figures of `make bench`: what each service produced per second while tickets flowed.

Read from the services' own /metrics, `helpdesk_events_produced_total{service,topic,type}`, because
that is the counter ops see on the dashboards: the bench samples it from every service a few times a
second during a phase and counts each hop over the time that hop was actually producing (from the
last sample before its first event to the first sample after its last), not over the whole phase, so
a hop that finished early is not diluted by the wait for a slower one. The window is known to one
sampling interval at each end: a hop that worked for a few seconds only reads somewhat low.

Beside the metrics, a tap on the tickets topic notes when each ticket's first `ticket.assigned` was
produced (the record's timestamp, set by the router's producer), for the latency from intake's POST
to the assignment that the issue's target names.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import httpx
import psutil

from devtools.topic_reader import TopicReader

METRIC = "helpdesk_events_produced_total"
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


@dataclass(frozen=True)
class Hop:
    """One hop of the pipeline: the events one service produces for each ticket that passes."""

    name: str
    service: str
    what: str  # for the table
    event_type: Callable[[str], bool]


HOPS: tuple[Hop, ...] = (
    Hop("intake", "intake", "ticket.created produced", lambda t: t == "ticket.created"),
    Hop("router", "router", "ticket.assigned produced", lambda t: t == "ticket.assigned"),
    Hop("sla", "sla", "sla.* events produced", lambda t: t.startswith("sla.")),
    # Every Slack message (new, or updated in place) and every email the notifier delivered.
    Hop("notifier", "notifier", "notification.sent produced", lambda t: t == "notification.sent"),
)


def produced_counts(metrics_text: str, metric: str = METRIC) -> dict[str, float]:
    """A per-type series of one service's /metrics (by default `helpdesk_events_produced_total`), summed
    per event type over its other labels. Read line by line, not with prometheus_client's parser: the
    bench reads five services twice a second while measuring them, and the parser takes about 5 ms of
    CPU a text (this loop 0.05 ms) on the same two cores."""
    counts: dict[str, float] = {}
    prefix = metric + "{"
    for line in metrics_text.splitlines():
        if not line.startswith(prefix):
            continue
        labels_text, _, value = line[len(prefix):].rpartition("} ")
        labels = dict(_LABEL.findall(labels_text))
        event_type = labels.get("type", "")
        counts[event_type] = counts.get(event_type, 0.0) + float(value)
    return counts


def handler_time(before: str, after: str) -> dict[str, dict]:
    """Per event type: events a service handled between two /metrics texts and the mean handler time.
    Where a hop is slow, this says which of its handlers the time went to."""
    count = "helpdesk_event_handle_seconds_count"
    total = "helpdesk_event_handle_seconds_sum"
    counts_before, counts_after = produced_counts(before, count), produced_counts(after, count)
    sums_before, sums_after = produced_counts(before, total), produced_counts(after, total)
    handled = {}
    for event_type, value in sorted(counts_after.items()):
        events = value - counts_before.get(event_type, 0.0)
        if events > 0:
            seconds = sums_after.get(event_type, 0.0) - sums_before.get(event_type, 0.0)
            handled[event_type] = {"events": int(events), "mean_ms": round(1000 * seconds / events, 1),
                                   "seconds": round(seconds, 1)}
    return handled


def hop_total(hop: Hop, counts_by_service: dict[str, dict[str, float]]) -> float:
    counts = counts_by_service.get(hop.service, {})
    return sum(value for event_type, value in counts.items() if hop.event_type(event_type))


def hop_rate(series: list[tuple[float, float]]) -> dict:
    """Events and rate of one hop from its (time, counter) samples, over the time it was producing.

    The window runs from the last sample still at the starting value to the first sample at the
    final value: every event of the phase happened inside it.
    """
    if len(series) < 2:
        return {"events": 0, "seconds": None, "per_second": None}
    first, last = series[0][1], series[-1][1]
    events = last - first
    if events <= 0:
        return {"events": 0, "seconds": None, "per_second": None}
    began = max(at for at, value in series if value == first)
    ended = min(at for at, value in series if value == last)
    seconds = ended - began
    return {
        "events": int(events),
        "seconds": round(seconds, 2),
        "per_second": round(events / seconds, 1) if seconds > 0 else None,
    }


def hop_figures(
    samples: list[tuple[float, dict[str, dict[str, float]]]], broker_pass_through: float, hops: Iterable[Hop] = HOPS
) -> dict[str, dict]:
    """Per hop: events, seconds producing, events per second and that rate as a share of the broker."""
    figures = {}
    for hop in hops:
        row = {"service": hop.service, "what": hop.what}
        row.update(hop_rate([(at, hop_total(hop, counts)) for at, counts in samples]))
        rate = row["per_second"]
        row["share_of_broker_percent"] = (
            round(100 * rate / broker_pass_through, 3) if rate and broker_pass_through else None
        )
        figures[hop.name] = row
    return figures


class HopSampler:
    """Samples every service's produced-events counters until stopped; `figures()` gives the hops."""

    def __init__(
        self, client: httpx.AsyncClient, urls: dict[str, str], interval: float = 0.5, pids: dict[str, int] | None = None
    ) -> None:
        self._client = client
        self._urls = urls
        self._interval = interval
        self._pids = pids or {}
        self.samples: list[tuple[float, dict[str, dict[str, float]]]] = []
        self.scrape_errors = 0
        self._task: asyncio.Task | None = None
        self._first_texts: dict[str, str] = {}
        self._last_texts: dict[str, str] = {}
        self._cpu: list[tuple[float, dict[str, float]]] = []

    async def sample(self) -> None:
        async def scrape(service: str, url: str) -> tuple[str, str | None]:
            try:
                response = await self._client.get(f"{url}/metrics", timeout=10)
                response.raise_for_status()
            except httpx.HTTPError:
                return service, None
            return service, response.text

        at = time.perf_counter()
        scraped = await asyncio.gather(*(scrape(service, url) for service, url in self._urls.items()))
        texts = {service: text for service, text in scraped if text is not None}
        if len(texts) < len(scraped):
            self.scrape_errors += 1  # a missed sample only widens the window; never half a sample
            return
        self._first_texts = self._first_texts or texts
        self._last_texts = texts
        self.samples.append((at, {service: produced_counts(text) for service, text in texts.items()}))

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            await self.sample()

    async def start(self) -> None:
        self._cpu.append((time.perf_counter(), cpu_seconds(self._pids)))
        await self.sample()
        self._task = asyncio.create_task(self._loop())

    async def settle(self, quiet: float = 2.0, timeout: float = 60.0) -> None:
        """Wait until no hop counter moved for `quiet` seconds: the phase's stragglers are counted in
        this phase and do not leak into the next one."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            await asyncio.sleep(self._interval)
            recent = [counts for at, counts in self.samples if at >= time.perf_counter() - quiet]
            older = [counts for at, counts in self.samples if at < time.perf_counter() - quiet]
            if older and recent and all(
                hop_total(hop, counts) == hop_total(hop, older[-1]) for hop in HOPS for counts in recent
            ):
                return

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        await self.sample()
        self._cpu.append((time.perf_counter(), cpu_seconds(self._pids)))

    def cpu_used(self) -> dict[str, float]:
        """CPU seconds each process used over the phase."""
        if len(self._cpu) < 2:
            return {}
        (_, before), (_, after) = self._cpu[0], self._cpu[-1]
        return {name: after[name] - before[name] for name in after if name in before}

    def cpu_percent(self) -> dict[str, float]:
        """Each process's CPU over the phase, in % of one core (the machine has os.cpu_count() of them)."""
        if len(self._cpu) < 2 or self._cpu[-1][0] <= self._cpu[0][0]:
            return {}
        window = self._cpu[-1][0] - self._cpu[0][0]
        return {name: round(100 * used / window, 1) for name, used in self.cpu_used().items()}

    def figures(self, broker_pass_through: float) -> dict:
        return {
            "hops": hop_figures(self.samples, broker_pass_through),
            "handlers": {
                service: handler_time(self._first_texts.get(service, ""), text)
                for service, text in self._last_texts.items()
            },
            "cpu_percent": self.cpu_percent(),
            "samples": len(self.samples),
            "sample_interval_seconds": self._interval,
            "scrape_errors": self.scrape_errors,
        }


def percentiles(values: list[float]) -> dict[str, float | None]:
    """p50, p95 and p99 of durations in seconds, in milliseconds (nearest rank); None when empty."""
    ordered = sorted(values)
    return {
        name: round(ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000, 1) if ordered else None
        for name, share in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))
    }


def cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    """User and system CPU seconds each process has used so far (those gone are left out)."""
    found = {}
    for name, pid in pids.items():
        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.Error:
            continue
        found[name] = times.user + times.system + times.children_user + times.children_system
    return found


class AssignmentTap:
    """Reads the tickets topic from its end and notes when each ticket's first ticket.assigned was produced."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.assigned_at: dict[str, float] = {}  # ticket id -> record timestamp, epoch seconds
        self._reader = TopicReader(bootstrap, [topic], self._take, from_end=True, wait_for_topics=0, poll_ms=200)

    async def start(self) -> None:
        await self._reader.start()

    async def _take(self, records: list) -> None:
        for record in records:
            if record.key is None:
                continue
            event_type = next((v for k, v in record.headers if k == "event-type"), None)
            if event_type == b"ticket.assigned":
                self.assigned_at.setdefault(record.key.decode(), record.timestamp / 1000)

    async def stop(self) -> None:
        await self._reader.stop()
