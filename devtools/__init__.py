"""Development tooling: real protocol servers for tests and `make up` (no Docker, no mocks)."""
