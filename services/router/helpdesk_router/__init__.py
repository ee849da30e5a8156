"""The router: keeps the agent roster and gives each new ticket to one agent, or queues it."""
