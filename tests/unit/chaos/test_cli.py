"""`make chaos`'s command line: it imports, knows every fault it offers, refuses unknown ones, and a SIGTERM
stops what it started."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest


def test_the_fault_suite_imports_and_every_fault_it_offers_has_an_injection() -> None:
    import chaos.__main__ as module  # an import broken by a refactor elsewhere fails here

    assert set(module.INJECT) == set(module.FAULTS)


def test_an_unknown_fault_is_refused_with_the_known_ones_named(capsys: pytest.CaptureFixture[str]) -> None:
    import chaos.__main__ as module

    with pytest.raises(SystemExit) as exit_info:
        module.main(["--faults", "kill-router,unplug-the-moon", "--tickets", "1"])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert "unplug-the-moon" in error and "restart-broker" in error


def test_apache_kafka_without_a_docker_engine_is_refused_with_the_reason_before_anything_starts(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import chaos.__main__ as module
    from devtools.servers import free_port

    monkeypatch.setenv("DOCKER_HOST", f"tcp://127.0.0.1:{free_port()}")  # nothing listens there
    with pytest.raises(SystemExit) as exit_info:
        module.main(["--apache-kafka", "--faults", "restart-broker", "--tickets", "1"])
    assert exit_info.value.code == 2
    assert "--apache-kafka: no Docker engine answers" in capsys.readouterr().err


def test_the_two_durable_brokers_are_one_or_the_other(capsys: pytest.CaptureFixture[str]) -> None:
    import chaos.__main__ as module

    with pytest.raises(SystemExit) as exit_info:
        module.main(["--apache-kafka", "--durable-broker", "--tickets", "1"])
    assert exit_info.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_a_sigterm_unwinds_the_run_so_what_it_started_is_stopped(tmp_path: Path) -> None:
    """`make chaos` and `make bench` own servers and services in `with` blocks inside `asyncio.run`; a
    SIGTERM (a CI timeout, `kill`) must unwind them like Ctrl-C, not leave the processes running."""
    script = tmp_path / "owner.py"
    script.write_text(
        "import asyncio, subprocess, sys\n"
        "from devtools.platform import interrupt_on_sigterm\n"
        "async def run():\n"
        "    child = subprocess.Popen(['sleep', '120'])\n"
        "    try:\n"
        "        print(child.pid, flush=True)\n"
        "        await asyncio.sleep(120)\n"
        "    finally:\n"
        "        child.kill()\n"
        "        child.wait()\n"
        "interrupt_on_sigterm()\n"
        "asyncio.run(run())\n"
    )
    root = Path(__file__).resolve().parents[3]
    env = {**os.environ, "PYTHONPATH": str(root)}
    owner = subprocess.Popen([sys.executable, str(script)], env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert owner.stdout is not None
        child = int(owner.stdout.readline())
        owner.send_signal(signal.SIGTERM)
        owner.wait(timeout=20)
    finally:
        owner.kill()
    for _ in range(50):
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        os.kill(child, signal.SIGKILL)
        raise AssertionError("the child outlived its owner's SIGTERM")
