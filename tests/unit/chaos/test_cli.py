"""`make chaos`'s command line: it imports, knows every fault it offers, and refuses unknown ones."""

from __future__ import annotations

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
