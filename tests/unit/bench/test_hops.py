"""The per-hop figures: counters read from /metrics text, rates over the time a hop was producing."""

from __future__ import annotations

from bench.hops import HOPS, handler_time, hop_figures, hop_rate, produced_counts

METRICS = """\
# HELP helpdesk_events_produced_total Events acknowledged by Kafka, by topic and type.
# TYPE helpdesk_events_produced_total counter
helpdesk_events_produced_total{service="sla",topic="helpdesk.sla",type="sla.started"} 6.0
helpdesk_events_produced_total{service="sla",topic="other.sla",type="sla.started"} 1.0
helpdesk_events_produced_total{service="sla",topic="helpdesk.sla",type="sla.met"} 2.0
helpdesk_events_produced_total{service="sla",topic="helpdesk.tickets",type="ticket.priority_changed"} 3.0
# HELP helpdesk_events_produced_created Events acknowledged by Kafka, by topic and type.
helpdesk_events_produced_created{service="sla",topic="helpdesk.sla",type="sla.started"} 1.7e+09
helpdesk_http_requests_total{method="GET",route="/readyz",service="sla",status="200"} 1.0
"""


def test_produced_counts_sums_each_type_over_topics_and_ignores_other_series() -> None:
    assert produced_counts(METRICS) == {"sla.started": 7.0, "sla.met": 2.0, "ticket.priority_changed": 3.0}


def test_a_hop_is_counted_over_the_time_it_produced_not_the_whole_phase() -> None:
    # Idle for a second, 10 events between t=1 and t=3, then idle again while other hops finish.
    series = [(0.0, 4.0), (1.0, 4.0), (2.0, 9.0), (3.0, 14.0), (4.0, 14.0), (9.0, 14.0)]
    assert hop_rate(series) == {"events": 10, "seconds": 2.0, "per_second": 5.0}


def test_a_hop_that_produced_nothing_has_no_rate() -> None:
    assert hop_rate([(0.0, 3.0), (1.0, 3.0)]) == {"events": 0, "seconds": None, "per_second": None}
    assert hop_rate([(0.0, 3.0)])["per_second"] is None


def test_hop_figures_pick_each_services_own_events_and_share_of_the_broker() -> None:
    samples = [
        (0.0, {"intake": {"ticket.created": 0}, "router": {"ticket.assigned": 0, "ticket.triaged": 0},
               "sla": {"sla.started": 0, "ticket.priority_changed": 0}, "notifier": {}}),
        (2.0, {"intake": {"ticket.created": 100}, "router": {"ticket.assigned": 40, "ticket.triaged": 50},
               "sla": {"sla.started": 150, "sla.met": 50, "ticket.priority_changed": 30},
               "notifier": {"notification.sent": 20, "notification.failed": 5}}),
    ]
    figures = hop_figures(samples, broker_pass_through=10_000)
    assert [name for name in figures] == [hop.name for hop in HOPS]
    assert figures["intake"]["per_second"] == 50.0
    assert figures["router"]["events"] == 40  # ticket.triaged is not an assignment
    assert figures["sla"]["events"] == 200  # sla.* only, not the escalation's ticket.priority_changed
    assert figures["notifier"]["events"] == 20  # sent, not failed
    assert figures["intake"]["share_of_broker_percent"] == 0.5


def test_handler_time_is_the_mean_over_the_phase_only() -> None:
    before = "\n".join([
        'helpdesk_event_handle_seconds_count{service="router",type="ticket.created"} 10.0',
        'helpdesk_event_handle_seconds_sum{service="router",type="ticket.created"} 1.0',
        'helpdesk_event_handle_seconds_count{service="router",type="ticket.assigned"} 5.0',
        'helpdesk_event_handle_seconds_sum{service="router",type="ticket.assigned"} 0.01',
    ])
    after = "\n".join([
        'helpdesk_event_handle_seconds_count{service="router",type="ticket.created"} 110.0',
        'helpdesk_event_handle_seconds_sum{service="router",type="ticket.created"} 4.6',
        'helpdesk_event_handle_seconds_count{service="router",type="ticket.assigned"} 5.0',
        'helpdesk_event_handle_seconds_sum{service="router",type="ticket.assigned"} 0.01',
        'helpdesk_event_handle_seconds_bucket{le="0.05",service="router",type="ticket.created"} 100.0',
    ])
    # 100 events in 3.6 s: 36 ms each; a type with no new events is left out.
    assert handler_time(before, after) == {"ticket.created": {"events": 100, "mean_ms": 36.0, "seconds": 3.6}}
