"""Which exporters the OTEL_* variables ask for (none by default), and which name the service gets."""

from __future__ import annotations

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

from helpdesk_events.tracing import TracingConfigError, _exporter, resource_attributes, trace_exporters


@pytest.mark.parametrize(
    ("environ", "exporters"),
    [
        ({}, ()),  # off by default, unlike the SDK: no failed exports on laptops and in tests
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, ("otlp",)),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, ("otlp",)),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "  "}, ()),
        ({"OTEL_TRACES_EXPORTER": "otlp"}, ("otlp",)),  # the SDK's default endpoint, localhost:4318
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, ()),
        ({"OTEL_TRACES_EXPORTER": "Console, otlp"}, ("otlp", "console")),
        ({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}, ("otlp",)),
        ({"OTEL_TRACES_EXPORTER": "console", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, ("console",)),
    ],
)
def test_exporters_follow_the_otel_variables(environ: dict[str, str], exporters: tuple[str, ...]) -> None:
    assert trace_exporters(environ) == exporters


@pytest.mark.parametrize(
    "environ",
    [
        {"OTEL_TRACES_EXPORTER": "jaeger"},
        {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4317", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "grpc"},
    ],
)
def test_what_cannot_be_done_stops_the_service_at_start(environ: dict[str, str]) -> None:
    with pytest.raises(TracingConfigError):
        trace_exporters(environ)


def test_the_otlp_exporter_is_the_http_one() -> None:
    assert isinstance(_exporter("otlp"), OTLPSpanExporter)


@pytest.mark.parametrize(
    ("environ", "attributes"),
    [
        ({}, {"service.name": "router"}),
        ({"OTEL_SERVICE_NAME": "router-eu"}, {}),
        ({"OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=prod,service.name=router-eu"}, {}),
        ({"OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=prod"}, {"service.name": "router"}),
    ],
)
def test_the_operator_s_service_name_wins(environ: dict[str, str], attributes: dict[str, str]) -> None:
    assert resource_attributes("router", environ) == attributes
