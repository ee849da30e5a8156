"""`make chaos`: the fault suite of issue 9 (see docs/reliability.md)."""
