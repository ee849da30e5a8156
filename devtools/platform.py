"""Run the whole platform on one machine: embedded servers plus the five services, each its own process.

`make up` runs `python -m devtools.platform up`: it starts what is missing (Tansu for Kafka,
nx-27017 for MongoDB, Redis unless one answers on 6379, an SMTP capture server unless
SMTP_HOST is set), starts the services, seeds a demo roster, prints the URLs and waits for
Ctrl-C or `make down`, then stops everything it started and nothing else.

The end-to-end tests use the same `Platform` class with their own servers and free ports.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from devtools.servers import (
    HOST,
    EmbeddedKafka,
    EmbeddedMongo,
    EmbeddedRedis,
    ServerStartError,
    SmtpCapture,
    _ProcessServer,
    redis_is_reachable,
)

SERVICES: dict[str, int] = {"intake": 8001, "router": 8002, "sla": 8003, "feedback": 8004, "notifier": 8005}
RUN_DIR = Path(".run")
DEMO_AGENTS = [
    {"agent_id": "ada", "name": "Ada Lovelace", "email": "ada@example.com", "slack_user_id": "U0ADA",
     "skills": ["billing", "english"], "capacity": 5, "status": "online", "teams": ["billing"]},
    {"agent_id": "grace", "name": "Grace Hopper", "email": "grace@example.com", "slack_user_id": "U0GRACE",
     "skills": ["technical", "english"], "capacity": 5, "status": "online", "teams": ["technical"]},
    {"agent_id": "alan", "name": "Alan Turing", "email": "alan@example.com", "slack_user_id": "U0ALAN",
     "skills": ["technical", "french"], "capacity": 3, "status": "away", "teams": ["technical"]},
]


class ServiceProcess(_ProcessServer):
    """One service, started as `python -m helpdesk_<name>`, ready when its /readyz answers 200."""

    startup_timeout = 90.0

    def __init__(self, service: str, port: int, env: dict[str, str], log_dir: Path) -> None:
        super().__init__(port, log_dir)
        self.name = service
        self.log_name = f"{service}.log"
        self._service_env = env

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def _command(self) -> list[str]:
        return [sys.executable, "-m", f"helpdesk_{self.name}"]

    def _env(self) -> dict[str, str]:
        return {**os.environ, **self._service_env, "HTTP_HOST": HOST, "HTTP_PORT": str(self.port)}

    def _probe(self) -> None:
        with urllib.request.urlopen(f"{self.url}/readyz", timeout=2) as response:
            if response.status != 200:
                raise ServerStartError(f"{self.name} not ready: {response.status}")

    def kill(self) -> None:
        """SIGKILL, as a crash would (fault tests)."""
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()
            self._proc = None


@dataclass
class Platform:
    """The five services wired to one set of servers."""

    kafka_bootstrap_servers: str
    mongodb_url: str
    redis_url: str
    smtp_host: str
    smtp_port: int
    run_dir: Path
    ports: dict[str, int] = field(default_factory=lambda: dict(SERVICES))
    email_smtp_port: int = 2525  # intake's inbound SMTP listener
    env: dict[str, str] = field(default_factory=dict)
    processes: dict[str, ServiceProcess] = field(default_factory=dict)

    def service_env(self) -> dict[str, str]:
        return {
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap_servers,
            "MONGODB_URL": self.mongodb_url,
            "REDIS_URL": self.redis_url,
            "SMTP_HOST": self.smtp_host,
            "SMTP_PORT": str(self.smtp_port),
            "EMAIL_SMTP_PORT": str(self.email_smtp_port),
            # The embedded broker lets a consumer group join after half the session timeout.
            "KAFKA_SESSION_TIMEOUT_MS": "3000",
            "KAFKA_HEARTBEAT_INTERVAL_MS": "500",
            # ... and holds a fetch for part of its maximum wait: keep the wait short.
            "KAFKA_FETCH_MAX_WAIT_MS": "50",
            # It comes back from a restart empty and creates each topic again on first use with 4
            # partitions, whoever asks first: with the same count here, a topic is the same either way.
            "KAFKA_TOPIC_PARTITIONS": "4",
            # One record per produce batch: Tansu numbers a batch of several records as if it held one, so
            # the next batch reuses their offsets and a consumer skips one of each pair (seen after an
            # outage, when records wait and go out together; see ../shared/servers.md on latest offsets).
            "KAFKA_PRODUCER_MAX_BATCH_BYTES": "1",
            **self.env,
        }

    def start(self, services: list[str] | None = None) -> None:
        log_dir = self.run_dir / "logs"
        for name in services or list(self.ports):
            process = ServiceProcess(name, self.ports[name], self.service_env(), log_dir)
            self.processes[name] = process
            process.start()

    def url(self, service: str) -> str:
        return self.processes[service].url

    def stop(self) -> None:
        for process in reversed(list(self.processes.values())):
            process.stop()
        self.processes.clear()


def seed_roster(router_url: str, agents: list[dict] = DEMO_AGENTS) -> None:
    for agent in agents:
        body = {key: value for key, value in agent.items() if key != "agent_id"}
        request = urllib.request.Request(
            f"{router_url}/v1/agents/{agent['agent_id']}",
            data=json.dumps(body).encode(),
            method="PUT",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()


def _servers(stack: ExitStack, run_dir: Path) -> Iterator[tuple[str, str]]:
    """Start the embedded servers that the environment does not already name; yield (setting, value)."""
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        yield "kafka", os.environ["KAFKA_BOOTSTRAP_SERVERS"]
    else:
        kafka = stack.enter_context(EmbeddedKafka(port=int(os.environ.get("KAFKA_PORT", 9092)), log_dir=run_dir / "logs"))
        yield "kafka", kafka.bootstrap_servers
    if os.environ.get("MONGODB_URL"):
        yield "mongodb", os.environ["MONGODB_URL"]
    else:
        mongo = stack.enter_context(
            EmbeddedMongo(port=int(os.environ.get("MONGODB_PORT", 27017)), data_dir=run_dir / "mongo", log_dir=run_dir / "logs")
        )
        yield "mongodb", mongo.url
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    if not redis_is_reachable(redis_url) and "REDIS_URL" not in os.environ:
        redis = stack.enter_context(EmbeddedRedis(port=6379, log_dir=run_dir / "logs"))
        redis_url = redis.url
    yield "redis", redis_url
    if os.environ.get("SMTP_HOST"):
        yield "smtp", f"{os.environ['SMTP_HOST']}:{os.environ.get('SMTP_PORT', '25')}"
    else:
        def log_mail(message) -> None:
            print(f"[mail] to {message['To']}: {message['Subject']}", flush=True)

        capture = stack.enter_context(
            SmtpCapture(port=int(os.environ.get("SMTP_CAPTURE_PORT", 1025)), maildir=run_dir / "mail", on_message=log_mail)
        )
        yield "smtp", f"{capture.host}:{capture.port}"


def interrupt_on_sigterm() -> None:
    """SIGTERM (`make down`, `kill`, a CI timeout) as Ctrl-C: the `with` blocks that own the servers and
    services stop them on the way out, so none is left running after the command that started it."""

    def on_signal(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)


def up(run_dir: Path, seed: bool) -> int:
    run_dir = run_dir.resolve()  # servers run with their log folder as working directory
    run_dir.mkdir(parents=True, exist_ok=True)
    pid_file = run_dir / "platform.pid"
    if pid_file.exists() and _alive(int(pid_file.read_text())):
        print(f"the platform already runs (pid {pid_file.read_text().strip()}); `make down` stops it", file=sys.stderr)
        return 1
    pid_file.write_text(str(os.getpid()))
    interrupt_on_sigterm()
    with ExitStack() as stack:
        stack.callback(pid_file.unlink, missing_ok=True)
        try:
            print("starting embedded servers ...", flush=True)
            servers = dict(_servers(stack, run_dir))
            smtp_host, smtp_port = servers["smtp"].rsplit(":", 1)
            platform = Platform(
                kafka_bootstrap_servers=servers["kafka"],
                mongodb_url=servers["mongodb"],
                redis_url=servers["redis"],
                smtp_host=smtp_host,
                smtp_port=int(smtp_port),
                run_dir=run_dir,
            )
            stack.callback(platform.stop)
            print("starting services (logs in .run/logs) ...", flush=True)
            platform.start()
            if seed:
                seed_roster(platform.url("router"))
            _print_urls(platform, servers, seed)
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            print("\nstopping ...", flush=True)
        except ServerStartError as error:
            print(f"could not start the platform: {error}", file=sys.stderr)
            return 1
    print("stopped", flush=True)
    return 0


def down(run_dir: Path) -> int:
    pid_file = run_dir / "platform.pid"
    if not pid_file.exists():
        print("the platform is not running")
        return 0
    pid = int(pid_file.read_text())
    if not _alive(pid):
        pid_file.unlink(missing_ok=True)
        print("the platform is not running (removed a stale pid file)")
        return 0
    os.kill(pid, signal.SIGTERM)
    for _ in range(300):
        if not _alive(pid):
            print("stopped")
            return 0
        time.sleep(0.1)
    print(f"pid {pid} did not stop within 30 s", file=sys.stderr)
    return 1


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _print_urls(platform: Platform, servers: dict[str, str], seeded: bool) -> None:
    lines = ["", "The help desk is up:"]
    for name in platform.processes:
        lines.append(f"  {name:<9} {platform.url(name)}   (API docs: {platform.url(name)}/docs)")
    lines += [
        f"  kafka     {servers['kafka']}",
        f"  mongodb   {servers['mongodb']}",
        f"  redis     {servers['redis']}",
        f"  smtp      {servers['smtp']}" + ("" if os.environ.get("SMTP_HOST") else "   (captured into .run/mail)"),
        f"  inbound   smtp://{HOST}:{platform.email_smtp_port}   (mail sent here opens or threads tickets)",
        "",
        "Try it:",
        f"  curl -s -X POST {platform.url('intake')}/v1/tickets -H 'Content-Type: application/json' \\",
        "    -d '{\"subject\": \"Cannot log in\", \"body\": \"Password reset mail never arrives.\", "
        "\"requester\": {\"email\": \"sam@example.com\", \"name\": \"Sam\"}}'",
        f"  curl -s {platform.url('intake')}/v1/tickets/<ticket_id>",
        f"  curl -s '{platform.url('notifier')}/v1/deliveries?ticket_id=<ticket_id>'",
        f"  curl -s {platform.url('router')}/v1/agents" + ("   (demo roster seeded)" if seeded else ""),
        "",
        "Ctrl-C or `make down` stops everything this started.",
    ]
    print("\n".join(lines), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the help-desk platform locally on embedded servers.")
    parser.add_argument("command", choices=["up", "down"])
    parser.add_argument("--run-dir", type=Path, default=RUN_DIR)
    parser.add_argument("--no-seed", action="store_true", help="do not create the demo roster")
    args = parser.parse_args(argv)
    if args.command == "up":
        return up(args.run_dir, seed=not args.no_seed)
    return down(args.run_dir)


if __name__ == "__main__":
    raise SystemExit(main())
