"""The router's own Prometheus metrics, counted where the desk decides (queue gauges: queue_view.py)."""

from prometheus_client import Counter, Histogram

ASSIGNMENTS = Counter(
    "helpdesk_router_assignments_total",
    "Tickets given to an agent (each round of a reassigned ticket counts), by agent and team.",
    ["agent_id", "team"],
)
HAND_BACKS = Counter(
    "helpdesk_router_hand_backs_total",
    "Tickets taken back from their agent: declined, reassign requested, agent away or offline.",
    ["reason"],
)
QUEUE_WAIT = Histogram(
    "helpdesk_router_queue_wait_seconds",
    "Time a queued ticket waited before an agent got it, by priority.",
    ["priority"],
    buckets=(0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 24 * 3600),
)
