"""Channel adapters: how customer traffic other than the web form becomes ticket events."""
