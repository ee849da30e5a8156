"""The docker compose stack agrees with the services and its own parts; checked without Docker.

docker-compose.yml runs the stores, the five services, Prometheus, Grafana, an OpenTelemetry collector,
Jaeger and Mailpit; deploy/compose/ holds their configuration. These tests read the files and check
what would otherwise only fail once the stack runs: a setting name a service does not know, a port that
is not the service's, a scrape target or data source pointing nowhere, a dashboard charting a metric
no service exports (an empty panel, silently).

The metrics that exist are read from prometheus_client's registry after importing every module of
helpdesk_events and of each service, which is where the Counters, Gauges and Histograms are declared.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from prometheus_client import REGISTRY

ROOT = Path(__file__).resolve().parents[3]
COMPOSE_FILE = ROOT / "docker-compose.yml"
COMPOSE_DIR = ROOT / "deploy" / "compose"
PROMETHEUS_FILE = COMPOSE_DIR / "prometheus" / "prometheus.yml"
GRAFANA_DIR = COMPOSE_DIR / "grafana"
DASHBOARDS = sorted((GRAFANA_DIR / "dashboards").glob("*.json"))
COLLECTOR_FILE = COMPOSE_DIR / "otel-collector" / "config.yaml"

SERVICES = sorted(path.parent.name for path in ROOT.glob("services/*/pyproject.toml"))

# Environment the services read besides their Settings: the OpenTelemetry SDK's standard variables.
EXTRA_ENV_PREFIXES = ("OTEL_",)
# Settings that are ports the service listens on: each must be published as its default.
LISTEN_PORT_SETTINGS = ("http_port", "email_smtp_port")

# Series Prometheus writes itself for every target, and the labels it adds to every scraped series.
PROMETHEUS_SERIES = {"up": frozenset()}
TARGET_LABELS = frozenset({"job", "instance"})


# ---------------------------------------------------------------- helpers


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def compose_services() -> dict[str, dict[str, Any]]:
    return compose()["services"]


def interpolated(value: object) -> str:
    """A compose value after `${NAME:-default}` interpolation with nothing set in the environment."""
    return re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", str(value))


def port_pairs(service: dict[str, Any]) -> set[tuple[int, int]]:
    """(host, container) ports a compose service publishes, short or long syntax."""
    pairs = set()
    for entry in service.get("ports", []):
        if isinstance(entry, dict):
            pairs.add((int(entry["published"]), int(entry["target"])))
        else:
            parts = str(entry).split("/")[0].split(":")  # [[ip:]host:]container[/proto]
            if len(parts) >= 2:
                pairs.add((int(parts[-2]), int(parts[-1])))
    return pairs


def bind_mounts(service: dict[str, Any]) -> dict[str, Path]:
    """Container path -> host path of a service's bind mounts (volumes whose source is a path)."""
    mounts = {}
    for entry in service.get("volumes", []):
        source, target = str(entry).split(":")[:2]
        if source.startswith((".", "/")):
            mounts[target] = (ROOT / source).resolve()
    return mounts


def host_and_port(address: str) -> tuple[str, int]:
    parts = urlsplit(address if "//" in address else f"//{address}")
    assert parts.hostname and parts.port, f"no host and port in {address!r}"
    return parts.hostname, parts.port


def settings_class(service: str) -> type:
    return importlib.import_module(f"helpdesk_{service}.settings").Settings


# ---------------------------------------------------------------- the metrics the services export


@cache
def exported_metrics() -> dict[str, frozenset[str]]:
    """Series name -> label names, of every metric a service process exports on /metrics."""
    for package_name in ["helpdesk_events", *(f"helpdesk_{service}" for service in SERVICES)]:
        package = importlib.import_module(package_name)
        for module in pkgutil.walk_packages(package.__path__, f"{package_name}."):
            if not module.name.endswith(".__main__"):  # __main__ runs the service
                importlib.import_module(module.name)
    # A labelled metric without children yet has no samples: its series names come from its type.
    suffixes = {
        "counter": ("_total", "_created"),
        "gauge": ("",),
        "histogram": ("_bucket", "_count", "_sum", "_created"),
        "summary": ("", "_count", "_sum", "_created"),
        "info": ("_info",),
        "stateset": ("",),
        "gaugehistogram": ("_bucket", "_gcount", "_gsum"),
        "unknown": ("",),
    }
    series: dict[str, frozenset[str]] = {}
    for family in REGISTRY.collect():
        # prometheus_client has no public way to a metric's label names; its wrappers keep them here.
        collector = REGISTRY._names_to_collectors.get(family.name)  # noqa: SLF001
        labels = frozenset(getattr(collector, "_labelnames", ()))
        for suffix in suffixes[family.type]:
            extra = (
                {"le"}
                if suffix == "_bucket"
                else {"quantile"}
                if family.type == "summary" and not suffix
                else set()
            )
            series[family.name + suffix] = labels | extra
    return series


def test_the_registry_holds_the_services_metrics() -> None:
    metrics = exported_metrics()
    # One from the shared event helpers and one declared in a service module: the import walk worked.
    assert metrics["helpdesk_events_consumed_total"] == {"service", "topic", "type", "outcome"}
    assert metrics["helpdesk_router_queue_wait_seconds_bucket"] == {"priority", "le"}
    assert metrics["helpdesk_consumer_lag"] == {"service", "topic", "partition"}
    assert "helpdesk_events_consumed" not in metrics  # a counter's series end in _total


# ---------------------------------------------------------------- PromQL


# https://prometheus.io/docs/prometheus/latest/querying/functions/ and the aggregation operators.
PROMQL_FUNCTIONS = frozenset(
    """abs absent absent_over_time acos acosh asin asinh atan atanh avg_over_time ceil changes clamp
    clamp_max clamp_min cos cosh count_over_time day_of_month day_of_week day_of_year days_in_month deg
    delta deriv exp floor histogram_avg histogram_count histogram_fraction histogram_quantile
    histogram_stddev histogram_stdvar histogram_sum holt_winters hour idelta increase irate label_join
    label_replace last_over_time ln log10 log2 mad_over_time max_over_time min_over_time minute month
    pi predict_linear present_over_time quantile_over_time rad rate resets round scalar sgn sin sinh sort
    sort_by_label sort_by_label_desc sort_desc sqrt stddev_over_time stdvar_over_time sum_over_time tan
    tanh time timestamp vector year
    sum min max avg group stddev stdvar count count_values bottomk topk quantile limitk limit_ratio""".split()
)
PROMQL_KEYWORDS = frozenset(
    {
        "and",
        "or",
        "unless",
        "bool",
        "offset",
        "atan2",
        "inf",
        "nan",
        "group_left",
        "group_right",
        "by",
        "without",
    }
)
GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\(([^()]*)\)")
STRING = re.compile(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|`[^`]*`')
# A name not part of a number, duration or $variable, then its optional {matchers} and call parenthesis.
TOKEN = re.compile(r"(?<![\w.$])([A-Za-z_:][\w:]*)\s*(\{[^{}]*\})?\s*(\()?")
MATCHER_LABEL = re.compile(r"([A-Za-z_]\w*)\s*(?:=~|!~|!=|=)")


def selectors(expr: str) -> tuple[list[tuple[str, frozenset[str]]], frozenset[str]]:
    """The (metric, matched label names) of each vector selector of a PromQL expression, and the label
    names it groups or matches by. Raises ValueError on a call of something that is not a function."""
    text = STRING.sub('""', expr)  # label values and label_replace arguments name no metric
    text = re.sub(r"\[[^\[\]]*\]", "", text)  # range and subquery durations, $__rate_interval
    grouping = frozenset(
        label.strip()
        for clause in GROUPING.finditer(text)
        for label in clause.group(2).split(",")
        if label.strip()
    )
    text = GROUPING.sub(" ", text)
    found = []
    for match in TOKEN.finditer(text):
        name, matchers, call = match.groups()
        if call and not matchers:
            if name not in PROMQL_FUNCTIONS:
                raise ValueError(f"{name}( is not a PromQL function, in {expr!r}")
            continue
        if name.lower() in PROMQL_KEYWORDS:
            continue
        found.append((name, frozenset(MATCHER_LABEL.findall(matchers or ""))))
    if "{" in TOKEN.sub(" ", text):
        raise ValueError(f"a selector without a metric name in {expr!r}")
    return found, grouping


def test_selectors_see_through_functions_groupings_and_strings() -> None:
    expr = (
        "histogram_quantile(0.95, sum by (service, le) (rate(helpdesk_event_handle_seconds_bucket"
        '{service="router", type=~"ticket.created|x{y}"}[$__rate_interval]))) '
        "/ on (service) group_left max without (topic) (helpdesk_consumer_lag offset 1h) > bool 0.5"
    )
    found, grouping = selectors(expr)
    assert found == [
        ("helpdesk_event_handle_seconds_bucket", frozenset({"service", "type"})),
        ("helpdesk_consumer_lag", frozenset()),
    ]
    assert grouping == {"service", "le", "topic"}


def test_selectors_refuse_what_is_not_a_function() -> None:
    with pytest.raises(ValueError, match="rat"):
        selectors("sum(rat(helpdesk_events_consumed_total[5m]))")


# ---------------------------------------------------------------- docker-compose.yml


@pytest.mark.parametrize("name", sorted(compose_services()))
def test_each_container_has_an_image_or_build_and_a_healthcheck(name: str) -> None:
    service = compose_services()[name]
    assert "image" in service or "build" in service, name
    build = service.get("build")
    if build:
        context = ROOT / (build if isinstance(build, str) else build["context"])
        dockerfile = context / (
            "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
        )
        assert dockerfile.is_file(), f"{name}: no {dockerfile.relative_to(ROOT)}"
    healthcheck = service.get("healthcheck", {})
    assert healthcheck.get("test") and not healthcheck.get("disable"), f"{name} has no healthcheck"


def test_start_order_waits_for_healthy_dependencies() -> None:
    services = compose_services()
    for name, service in services.items():
        for dependency, condition in service.get("depends_on", {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            assert "healthcheck" in services[dependency], f"{name} waits on {dependency} (no healthcheck)"
            assert condition == {"condition": "service_healthy"}, f"{name} -> {dependency}"
    for name in SERVICES:
        assert {"kafka", "mongo", "redis"} <= services[name]["depends_on"].keys(), name


def test_mounted_files_and_volumes_exist() -> None:
    document = compose()
    declared = set(document.get("volumes") or {})
    for name, service in document["services"].items():
        for container_path, host_path in bind_mounts(service).items():
            assert host_path.exists(), f"{name} mounts missing {host_path} at {container_path}"
        for entry in service.get("volumes", []):
            source = str(entry).split(":")[0]
            if not source.startswith((".", "/")):
                assert source in declared, f"{name} uses undeclared volume {source}"


@pytest.mark.parametrize("name", SERVICES)
def test_service_environment_is_settings_of_that_service(name: str) -> None:
    settings = settings_class(name)
    environment = {key: interpolated(value) for key, value in compose_services()[name]["environment"].items()}
    known = {field.upper() for field in settings.model_fields}
    unknown = {key for key in environment if key not in known and not key.startswith(EXTRA_ENV_PREFIXES)}
    assert not unknown, f"{name} is given variables it does not read: {sorted(unknown)}"
    # And the values are valid for it: the service would start with them.
    values = {key.lower(): value for key, value in environment.items() if key.upper() in known}
    settings(_env_file=None, **values)


@pytest.mark.parametrize("name", SERVICES)
def test_service_ports_are_the_settings_defaults(name: str) -> None:
    service = compose_services()[name]
    fields = settings_class(name).model_fields
    listening = [setting for setting in LISTEN_PORT_SETTINGS if setting in fields]
    assert "http_port" in listening
    for setting in listening:
        default = fields[setting].default
        assert str(service["environment"].get(setting.upper(), default)) == str(default), f"{name} {setting}"
        assert (default, default) in port_pairs(service), f"{name} does not publish {setting} {default}"
    check = " ".join(service["healthcheck"]["test"])
    assert f"127.0.0.1:{fields['http_port'].default}/readyz" in check


@pytest.mark.parametrize("name", SERVICES)
def test_services_send_traces_to_the_collector(name: str) -> None:
    services = compose_services()
    environment = services[name]["environment"]
    assert environment["OTEL_SERVICE_NAME"] == name
    assert environment["OTEL_TRACES_EXPORTER"] == "otlp"
    assert environment["OTEL_EXPORTER_OTLP_PROTOCOL"] == "http/protobuf"
    host, port = host_and_port(environment["OTEL_EXPORTER_OTLP_ENDPOINT"])
    assert host in services, f"{name} sends traces to unknown {host}"
    collector = yaml.safe_load(COLLECTOR_FILE.read_text())
    assert host_and_port(collector["receivers"]["otlp"]["protocols"]["http"]["endpoint"])[1] == port


def test_notifier_mails_through_mailpit() -> None:
    services = compose_services()
    environment = services["notifier"]["environment"]
    host, port = environment["SMTP_HOST"], int(environment["SMTP_PORT"])
    assert host == "mailpit" and "mailpit" in services["notifier"]["depends_on"]
    assert port in {container for _, container in port_pairs(services["mailpit"])}
    assert (8025, 8025) in port_pairs(services["mailpit"])  # the web UI the README points at


def test_ui_ports_are_published() -> None:
    services = compose_services()
    assert (9090, 9090) in port_pairs(services["prometheus"])
    assert (3000, 3000) in port_pairs(services["grafana"])
    assert (16686, 16686) in port_pairs(services["jaeger"])


# ---------------------------------------------------------------- Prometheus


def test_prometheus_loads_the_scrape_config() -> None:
    prometheus = compose_services()["prometheus"]
    config_flag = next(arg for arg in prometheus["command"] if arg.startswith("--config.file="))
    assert bind_mounts(prometheus)[config_flag.split("=", 1)[1]] == PROMETHEUS_FILE


@pytest.mark.parametrize("name", SERVICES)
def test_prometheus_scrapes_each_service(name: str) -> None:
    config = yaml.safe_load(PROMETHEUS_FILE.read_text())
    port = settings_class(name).model_fields["http_port"].default
    jobs = [
        job
        for job in config["scrape_configs"]
        for static in job.get("static_configs", [])
        if f"{name}:{port}" in static["targets"]
    ]
    assert len(jobs) == 1, f"{name}:{port} is scraped by {len(jobs)} jobs"
    assert jobs[0].get("metrics_path", "/metrics") == "/metrics"
    assert jobs[0]["job_name"] == name  # the dashboards select a service's process metrics by job


def test_prometheus_targets_are_compose_services() -> None:
    services = compose_services()
    config = yaml.safe_load(PROMETHEUS_FILE.read_text())
    for job in config["scrape_configs"]:
        for static in job["static_configs"]:
            for target in static["targets"]:
                host, port = host_and_port(target)
                assert host in services, f"{job['job_name']} scrapes unknown {host}"


# ---------------------------------------------------------------- Grafana


def provisioning(kind: str) -> list[dict[str, Any]]:
    files = sorted((GRAFANA_DIR / "provisioning" / kind).glob("*.y*ml"))
    assert files, f"no Grafana {kind} provisioning file"
    return [yaml.safe_load(path.read_text()) for path in files]


def datasources() -> dict[str, dict[str, Any]]:
    return {
        source["uid"]: source
        for document in provisioning("datasources")
        for source in document["datasources"]
    }


def test_grafana_mounts_its_provisioning() -> None:
    mounts = bind_mounts(compose_services()["grafana"])
    assert mounts["/etc/grafana/provisioning"] == GRAFANA_DIR / "provisioning"


def test_grafana_datasources_point_at_the_stack() -> None:
    services = compose_services()
    sources = datasources()
    assert {source["type"] for source in sources.values()} >= {"prometheus", "jaeger"}
    for uid, source in sources.items():
        host, port = host_and_port(source["url"])
        assert host in services, f"data source {uid} points at unknown {host}"
        assert host in services["grafana"]["depends_on"], f"grafana does not wait for {host}"
        published = {container for _, container in port_pairs(services[host])}
        assert port in published, f"data source {uid}: {host} does not listen on {port}"


def test_grafana_loads_the_dashboards_directory() -> None:
    grafana = compose_services()["grafana"]
    mounts = bind_mounts(grafana)
    providers = [provider for document in provisioning("dashboards") for provider in document["providers"]]
    assert providers
    for provider in providers:
        assert provider["type"] == "file"
        assert mounts[provider["options"]["path"]] == GRAFANA_DIR / "dashboards"
    home = Path(grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"])
    assert (mounts[str(home.parent)] / home.name).is_file()


def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    """Every panel that queries, rows' panels included."""
    found = []
    for panel in dashboard["panels"]:
        found += panel.get("panels", [])
        if panel["type"] != "row":
            found.append(panel)
    return found


def expressions() -> list[tuple[str, str, str]]:
    """(dashboard file, panel title, PromQL) of every query of every dashboard."""
    return [
        (path.name, panel["title"], target["expr"])
        for path in DASHBOARDS
        for panel in panels(json.loads(path.read_text()))
        for target in panel["targets"]
    ]


def test_dashboards_are_found() -> None:
    assert len(DASHBOARDS) >= 1


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda path: path.name)
def test_dashboard_is_json_with_queried_panels(path: Path) -> None:
    dashboard = json.loads(path.read_text())
    assert dashboard["uid"] and dashboard["title"]
    sources = datasources()
    assert panels(dashboard), f"{path.name} has no panels"
    for panel in panels(dashboard):
        assert panel.get("title") and panel.get("targets"), f"{path.name}: a panel without title or query"
        for target in panel["targets"]:
            assert target["expr"].strip(), f"{path.name} {panel['title']}: empty query"
            uid = (target.get("datasource") or panel["datasource"])["uid"]
            assert sources[uid]["type"] == "prometheus", f"{path.name} {panel['title']}: data source {uid}"


def test_dashboard_uids_are_unique() -> None:
    uids = [json.loads(path.read_text())["uid"] for path in DASHBOARDS]
    assert len(uids) == len(set(uids))


@pytest.mark.parametrize("where", expressions(), ids=lambda where: f"{where[0]}:{where[1]}:{where[2][:40]}")
def test_dashboard_queries_name_exported_metrics(where: tuple[str, str, str]) -> None:
    _, title, expr = where
    known = {**exported_metrics(), **PROMETHEUS_SERIES}
    found, grouping = selectors(expr)
    assert found, f"{title}: no metric in {expr!r}"
    for metric, labels in found:
        assert metric in known, f"{title}: no service exports {metric}"
        unknown = labels - known[metric] - TARGET_LABELS
        assert not unknown, f"{title}: {metric} has no label {sorted(unknown)}"
    available = set().union(*(known[metric] for metric, _ in found)) | TARGET_LABELS
    assert grouping <= available, f"{title}: grouping by missing labels {sorted(grouping - available)}"


def test_dashboards_chart_what_operations_asked_for() -> None:
    """Issue 8: ticket volume, queue depth, assignment latency, SLA warnings and breaches, CSAT, NPS,
    consumer lag."""
    queries = [expr for _, _, expr in expressions()]

    def charted(*parts: str) -> bool:
        return any(all(part in expr for part in parts) for expr in queries)

    assert charted("helpdesk_intake_tickets_created_total", "by (channel)"), "ticket volume by channel"
    assert charted("helpdesk_router_queue_depth"), "queue depth"
    assert charted("histogram_quantile", "helpdesk_router_queue_wait_seconds_bucket"), "assignment latency"
    assert charted("sla.warning", "sla.breached"), "SLA warnings and breaches"
    assert charted("helpdesk_sla_breaches"), "SLA breaches per team"
    assert charted("helpdesk_feedback_score", 'kind="csat"'), "CSAT"
    assert charted("helpdesk_feedback_score", 'kind="nps"'), "NPS"
    assert charted("helpdesk_consumer_lag"), "consumer lag"
    assert charted("helpdesk_http_requests_total"), "HTTP request rate"
    assert charted("helpdesk_http_request_seconds_bucket"), "HTTP latency"


# ---------------------------------------------------------------- OpenTelemetry collector and Jaeger


def test_collector_pipeline_uses_only_declared_components() -> None:
    config = yaml.safe_load(COLLECTOR_FILE.read_text())
    service = config["service"]
    assert set(service.get("extensions", [])) <= set(config.get("extensions", {}))
    assert "traces" in service["pipelines"]
    for name, pipeline in service["pipelines"].items():
        for kind in ("receivers", "processors", "exporters"):
            missing = set(pipeline.get(kind, [])) - set(config.get(kind, {}))
            assert not missing, f"pipeline {name} uses undeclared {kind} {sorted(missing)}"


def test_collector_exports_traces_to_jaeger() -> None:
    services = compose_services()
    config = yaml.safe_load(COLLECTOR_FILE.read_text())
    (exporter,) = config["service"]["pipelines"]["traces"]["exporters"]
    host, port = host_and_port(config["exporters"][exporter]["endpoint"])
    assert host == "jaeger" and port == 4317  # OTLP gRPC into Jaeger
    assert services["jaeger"]["environment"]["COLLECTOR_OTLP_ENABLED"] == "true"
    assert "jaeger" in services["otel-collector"]["depends_on"]


def test_collector_runs_the_config_and_is_probed_on_its_health_port() -> None:
    collector = compose_services()["otel-collector"]
    command = collector["command"]
    config_path = command[command.index("--config") + 1]
    assert bind_mounts(collector)[config_path] == COLLECTOR_FILE
    config = yaml.safe_load(COLLECTOR_FILE.read_text())
    _, health_port = host_and_port(config["extensions"]["health_check"]["endpoint"])
    assert f"127.0.0.1:{health_port}/" in " ".join(collector["healthcheck"]["test"])
