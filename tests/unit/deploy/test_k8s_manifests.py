"""deploy/k8s, rendered and checked without a cluster, a network or kubectl.

Each overlay is rendered by tests/support/kustomize.py (the kustomize features deploy/k8s uses, refusing
others). Every built-in object is validated against the Kubernetes JSON schemas that the
`kubernetes-validate` package ships (strict: unknown fields refused), and the two custom resources against
tests/support/crd_schemas.py. Then the objects are checked against the services themselves: their settings
(ports, variable names, values), their config file loaders, the routes their apps mount, and the topics
their code uses.
"""

from __future__ import annotations

import functools
import importlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import kubernetes_validate
import pytest
import yaml
from starlette.routing import Match

from helpdesk_events.settings import ServiceSettings
from helpdesk_events.topics import TopicNames
from helpdesk_intake.channels.selection import ALL_CHANNELS, parse_channels
from tests.support import kustomize
from tests.support.crd_schemas import CRD_SCHEMAS

ROOT = Path(__file__).resolve().parents[3]
K8S_DIR = ROOT / "deploy" / "k8s"
K8S_BASE = K8S_DIR / "base"
OVERLAYS = sorted(
    path.name for path in (K8S_DIR / "overlays").iterdir() if (path / "kustomization.yaml").exists()
)
SERVICES = sorted(path.parent.name for path in ROOT.glob("services/*/pyproject.toml"))
IMAGE = "ghcr.io/helpdesk/helpdesk"
SECRET_NAME = "helpdesk-secrets"
# The oldest Kubernetes minor still common in managed clusters, and the newest the package knows.
KUBERNETES_VERSIONS = ["1.30.0", kubernetes_validate.utils.latest_version()]
BUILT_IN_KINDS = {
    "Namespace",
    "ConfigMap",
    "Deployment",
    "Service",
    "PodDisruptionBudget",
    "HorizontalPodAutoscaler",
    "NetworkPolicy",
    "Ingress",
}
# intake's channel groups, each its own Deployment (issue 8).
INTAKE_GROUPS = {
    frozenset({"email"}),
    frozenset({"web"}),
    frozenset({"chat", "social"}),
    frozenset({"voice"}),
}
# Read by the image's command (helpdesk-$SERVICE), not by the settings.
IMAGE_VARIABLES = {"SERVICE"}
# Stand-ins for the keys of the Secret helpdesk-secrets, which lives outside the repository (README.md).
SECRET_VALUES = {
    "MONGODB_URL": "mongodb://mongodb:27017/?replicaSet=rs0",
    "REDIS_URL": "redis://redis:6379/0",
    "SLACK_BOT_TOKEN": "xoxb-not-a-token",
    "SLACK_SIGNING_SECRET": "not-a-signing-secret",
    "SMTP_USERNAME": "helpdesk",
    "SMTP_PASSWORD": "not-a-password",
    "FEEDBACK_TOKEN_SECRETS": "not-a-secret-but-32-bytes-long-000",
    "VOICE_WEBHOOK_SECRET": "not-a-voice-secret",
    "SOCIAL_WEBHOOK_SECRETS": '{"facebook": "not-a-social-secret"}',
}
# Secrets a channel needs (intake serves the route, and answers 503 or 404 without the secret).
CHANNEL_SECRETS = {
    "web": {"SLACK_SIGNING_SECRET"},
    "social": {"SOCIAL_WEBHOOK_SECRETS"},
    "voice": {"VOICE_WEBHOOK_SECRET"},
}
# What customers' browsers, Slack and the channel providers call (README "Public API").
PUBLIC_REQUESTS = [
    ("POST", "/v1/tickets"),
    ("POST", "/v1/slack/interactions"),
    ("POST", "/v1/channels/email/inbound"),
    ("POST", "/v1/channels/chat/messages"),
    ("POST", "/v1/channels/social/facebook/webhook"),
    ("POST", "/v1/channels/voice/webhook"),
    ("GET", "/s/a-survey-token"),
    ("POST", "/s/a-survey-token"),
    ("GET", "/s/a-survey-token/thanks"),
]
# Without authentication of their own: they must not be reachable from outside.
PRIVATE_PATHS = [
    "/v1/tickets/t-1",
    "/v1/tickets/t-1/replies",
    "/v1/tickets/t-1/status",
    "/v1/tickets/t-1/assignment-answers",
    "/v1/customers/c-1",
    "/v1/customers/c-1/tier",
    "/v1/feedback/summary",
    "/v1/agents",
    "/v1/rules",
    "/v1/deliveries",
    "/metrics",
    "/readyz",
    "/docs",
]


# ---------------------------------------------------------------- rendering and lookups


@functools.cache
def rendered(overlay: str) -> tuple[dict[str, Any], ...]:
    return tuple(kustomize.render(K8S_DIR / "overlays" / overlay))


def of_kind(overlay: str, kind: str) -> dict[str, dict[str, Any]]:
    return {obj["metadata"]["name"]: obj for obj in rendered(overlay) if obj["kind"] == kind}


def deployments(overlay: str) -> dict[str, dict[str, Any]]:
    return of_kind(overlay, "Deployment")


def pod_spec(deployment: dict[str, Any]) -> dict[str, Any]:
    return deployment["spec"]["template"]["spec"]


def pod_labels(deployment: dict[str, Any]) -> dict[str, str]:
    return deployment["spec"]["template"]["metadata"]["labels"]


def the_container(deployment: dict[str, Any]) -> dict[str, Any]:
    (container,) = pod_spec(deployment)["containers"]
    return container


def literal_env(deployment: dict[str, Any]) -> dict[str, str]:
    return {var["name"]: var["value"] for var in the_container(deployment).get("env", []) if "value" in var}


def service_of(deployment: dict[str, Any]) -> str:
    return literal_env(deployment)["SERVICE"]


def settings_class(service: str) -> type[ServiceSettings]:
    return importlib.import_module(f"helpdesk_{service}.settings").Settings


def setting_names(service: str) -> set[str]:
    return {name.upper() for name in settings_class(service).model_fields}


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """A Kubernetes LabelSelector (matchLabels and matchExpressions) against a set of labels."""
    if not selector.get("matchLabels", {}).items() <= labels.items():
        return False
    for expression in selector.get("matchExpressions", []):
        key, operator, values = expression["key"], expression["operator"], expression.get("values", [])
        present = key in labels
        if operator == "In" and not (present and labels[key] in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


def selected_deployments(overlay: str, selector: dict[str, Any]) -> set[str]:
    return {
        name for name, deployment in deployments(overlay).items() if selects(selector, pod_labels(deployment))
    }


def pod_environment(overlay: str, deployment: dict[str, Any]) -> dict[str, str]:
    """The container's environment as the kubelet builds it: envFrom ConfigMaps, then env (literal values,
    ConfigMap keys, and the Secret's keys, given SECRET_VALUES)."""
    configmaps = of_kind(overlay, "ConfigMap")
    container = the_container(deployment)
    environment: dict[str, str] = {}
    for source in container.get("envFrom", []):
        assert set(source) == {"configMapRef"}, f"envFrom other than a ConfigMap: {source}"
        environment.update(configmaps[source["configMapRef"]["name"]]["data"])
    for var in container.get("env", []):
        if "value" in var:
            environment[var["name"]] = var["value"]
            continue
        source = var["valueFrom"]
        if "configMapKeyRef" in source:
            ref = source["configMapKeyRef"]
            environment[var["name"]] = configmaps[ref["name"]]["data"][ref["key"]]
        else:
            ref = source["secretKeyRef"]
            assert ref["name"] == SECRET_NAME and ref["key"] in SECRET_VALUES, f"{var['name']}: {ref}"
            environment[var["name"]] = SECRET_VALUES[ref["key"]]
    return environment


def mounted_file(overlay: str, deployment: dict[str, Any], path: str) -> str:
    """The content a container sees at `path`, from the ConfigMap volume mounted over its directory."""
    volumes = {volume["name"]: volume for volume in pod_spec(deployment).get("volumes", [])}
    for mount in the_container(deployment).get("volumeMounts", []):
        directory = mount["mountPath"].rstrip("/") + "/"
        if path.startswith(directory):
            assert "subPath" not in mount, "a subPath mount never sees a changed ConfigMap"
            source = volumes[mount["name"]]["configMap"]
            key = path[len(directory) :]
            if "items" in source:
                key = next(item["key"] for item in source["items"] if item["path"] == key)
            data = of_kind(overlay, "ConfigMap")[source["name"]]["data"]
            assert key in data, f"ConfigMap {source['name']} has no key {key!r} (keys: {sorted(data)})"
            return data[key]
    raise AssertionError(f"nothing is mounted at {path}")


def materialized(overlay: str, deployment: dict[str, Any], directory: Path) -> dict[str, str]:
    """pod_environment, with every file setting pointing at a copy of the mounted file under `directory`."""
    environment = pod_environment(overlay, deployment)
    for name, value in list(environment.items()):
        if name.endswith("_FILE"):
            copy = directory / deployment["metadata"]["name"] / value.lstrip("/")
            copy.parent.mkdir(parents=True, exist_ok=True)
            copy.write_text(mounted_file(overlay, deployment, value), encoding="utf-8")
            environment[name] = str(copy)
    return environment


def build_settings(service: str, environment: dict[str, str]) -> ServiceSettings:
    """The service's Settings read from exactly `environment`, as in the container."""
    with pytest.MonkeyPatch.context() as patch:
        for name in setting_names(service):
            patch.delenv(name, raising=False)
        for name, value in environment.items():
            patch.setenv(name, value)
        return settings_class(service)()


def channels_of(deployment: dict[str, Any]) -> tuple[str, ...]:
    return parse_channels(literal_env(deployment)["INTAKE_CHANNELS"])


@functools.cache
def app_of(overlay: str, name: str, directory: Path) -> Any:
    """The FastAPI app the Deployment's container builds (nothing connects before its lifespan starts)."""
    deployment = deployments(overlay)[name]
    service = service_of(deployment)
    settings = build_settings(service, materialized(overlay, deployment, directory))
    return importlib.import_module(f"helpdesk_{service}.bootstrap").create_app(settings)


def serves(app: Any, method: str, path: str) -> bool:
    scope = {"type": "http", "method": method, "path": path, "root_path": "", "path_params": {}}
    return any(route.matches(scope)[0] == Match.FULL for route in app.router.routes)


def ingress_route(overlay: str, host: str, path: str) -> tuple[str, str] | None:
    """(Service, port name) an Ingress sends `host` + `path` to, by Kubernetes' rules: the longest matching
    path wins, Exact before Prefix at equal length; Prefix matches whole path elements."""
    matches: list[tuple[int, int, tuple[str, str]]] = []
    for ingress in of_kind(overlay, "Ingress").values():
        for rule in ingress["spec"]["rules"]:
            if rule.get("host", host) != host:
                continue
            for entry in rule["http"]["paths"]:
                backend = (entry["backend"]["service"]["name"], entry["backend"]["service"]["port"]["name"])
                if entry["pathType"] == "Exact" and path == entry["path"]:
                    matches.append((len(entry["path"]), 1, backend))
                elif entry["pathType"] == "Prefix":
                    prefix = [part for part in entry["path"].split("/") if part]
                    if [part for part in path.split("/") if part][: len(prefix)] == prefix:
                        matches.append((len(entry["path"].rstrip("/")), 0, backend))
                else:
                    assert entry["pathType"] in {"Exact", "Prefix"}, (
                        "ImplementationSpecific cannot be checked"
                    )
    return max(matches)[2] if matches else None


def public_hosts(overlay: str) -> set[str]:
    return {
        rule["host"] for ingress in of_kind(overlay, "Ingress").values() for rule in ingress["spec"]["rules"]
    }


@pytest.fixture(scope="module")
def files_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mounted-files")


def test_overlays_are_found() -> None:
    assert OVERLAYS == ["dev", "prod"]


# ---------------------------------------------------------------- the renderer itself


def test_renderer_hashes_generated_configmaps_as_kustomize_does() -> None:
    # Names kustomize gives (its hasher tests, and the configMapGenerator example of its documentation).
    assert kustomize.configmap_hash("", {}) == "42745tchd9"
    assert kustomize.configmap_hash("", {"one": ""}) == "9g67k2htb6"
    assert kustomize.configmap_hash("", {"two": "2", "one": "", "three": "3"}) == "f5h7t85m9b"
    assert (
        kustomize.configmap_hash(
            "my-java-server-env-vars", {"JAVA_HOME": "/opt/java/jdk", "JAVA_TOOL_OPTIONS": "-agentlib:hprof"}
        )
        == "44k658k8gk"
    )


def test_renderer_merges_lists_by_their_merge_key_and_refuses_what_it_does_not_implement(
    tmp_path: Path,
) -> None:
    base = tmp_path / "base"
    base.mkdir()
    (base / "kustomization.yaml").write_text("resources: [deploy.yaml]\nnamespace: desk\n")
    (base / "deploy.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "web"},
                "spec": {
                    "template": {
                        "spec": {
                            "containers": [
                                {
                                    "name": "a",
                                    "image": "reg:5000/app:1",
                                    "env": [{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}],
                                },
                                {"name": "b", "image": "other:1"},
                            ]
                        }
                    }
                },
            }
        )
    )
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text(
        "resources: [../base]\nimages: [{name: 'reg:5000/app', newTag: '2'}]\npatches:\n- patch: |-\n"
        "    apiVersion: apps/v1\n    kind: Deployment\n    metadata: {name: web}\n"
        "    spec: {template: {spec: {containers: [{name: a, env: [\n"
        "      {name: Y, value: '3'}, {name: Z, value: '4'}]}]}}}\n"
    )
    (web,) = kustomize.render(overlay)
    first, second = web["spec"]["template"]["spec"]["containers"]
    assert web["metadata"]["namespace"] == "desk"
    assert first["image"] == "reg:5000/app:2" and second["image"] == "other:1"
    assert first["env"] == [
        {"name": "X", "value": "1"},
        {"name": "Y", "value": "3"},
        {"name": "Z", "value": "4"},
    ]

    (overlay / "kustomization.yaml").write_text("resources: [../base]\nreplicas: [{name: web, count: 2}]\n")
    with pytest.raises(kustomize.Unsupported, match="replicas"):
        kustomize.render(overlay)


# ---------------------------------------------------------------- schemas


def schema_cases() -> Iterator[tuple[str, str]]:
    for overlay in OVERLAYS:
        yield from ((overlay, version) for version in KUBERNETES_VERSIONS)


@pytest.mark.parametrize(("overlay", "version"), list(schema_cases()))
def test_every_object_is_valid_against_its_schema(overlay: str, version: str) -> None:
    problems = []
    for obj in rendered(overlay):
        where = f"{obj['kind']}/{obj['metadata']['name']}"
        if obj["kind"] in BUILT_IN_KINDS:
            try:
                kubernetes_validate.validate(obj, version, strict=True)
            except kubernetes_validate.ValidationError as error:
                problems.append(f"{where}: {'.'.join(map(str, error.path))}: {error.message}")
        else:
            schema = CRD_SCHEMAS.get((obj["apiVersion"], obj["kind"]))
            assert schema is not None, f"{where}: no schema for {obj['apiVersion']} {obj['kind']}"
            for error in jsonschema.Draft202012Validator(schema).iter_errors(obj):
                problems.append(f"{where}: {'.'.join(map(str, error.path))}: {error.message}")
    assert not problems, "\n".join(problems)


def test_the_schemas_refuse_mistakes() -> None:
    deployment = dict(deployments("prod")["router"])
    deployment["spec"] = {**deployment["spec"], "replica": 3}  # a typo the API server would prune
    with pytest.raises(kubernetes_validate.ValidationError, match="replica"):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[-1], strict=True)

    topic = of_kind("prod", "KafkaTopic")["helpdesk-tickets"]
    bad_topic = {**topic, "spec": {**topic["spec"], "partitions": 0, "config": {"retention.hours": 1}}}
    topic_errors = list(
        jsonschema.Draft202012Validator(CRD_SCHEMAS[("kafka.strimzi.io/v1beta2", "KafkaTopic")]).iter_errors(
            bad_topic
        )
    )
    assert len(topic_errors) == 2

    monitor = of_kind("prod", "ServiceMonitor")["helpdesk"]
    bad_monitor = {**monitor, "spec": {**monitor["spec"], "endpoint": monitor["spec"]["endpoints"]}}
    assert not jsonschema.Draft202012Validator(
        CRD_SCHEMAS[("monitoring.coreos.com/v1", "ServiceMonitor")]
    ).is_valid(bad_monitor)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_names_and_namespaces(overlay: str) -> None:
    dns_label = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
    for obj in rendered(overlay):
        name = obj["metadata"]["name"]
        if obj["kind"] in {"Service", "Deployment"}:  # Services are DNS labels; pods' names derive from these
            assert dns_label.match(name) and len(name) <= 47, name
        if obj["kind"] != "Namespace":
            assert obj["metadata"]["namespace"] == "helpdesk", name
        assert obj["metadata"]["labels"]["app.kubernetes.io/part-of"] == "helpdesk", name


# ---------------------------------------------------------------- Deployments and the services' settings


def deployment_cases() -> list[tuple[str, str]]:
    return [(overlay, name) for overlay in OVERLAYS for name in sorted(deployments(overlay))]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_a_deployment_per_service_and_per_intake_channel_group(overlay: str) -> None:
    by_service: dict[str, list[dict[str, Any]]] = {}
    for deployment in deployments(overlay).values():
        by_service.setdefault(service_of(deployment), []).append(deployment)
    assert sorted(by_service) == SERVICES
    assert all(len(found) == 1 for service, found in by_service.items() if service != "intake")
    groups = [frozenset(channels_of(deployment)) for deployment in by_service["intake"]]
    assert set(groups) == INTAKE_GROUPS and len(groups) == len(INTAKE_GROUPS)
    assert frozenset().union(*groups) == frozenset(ALL_CHANNELS)  # every channel served, each once


@pytest.mark.parametrize(("overlay", "name"), deployment_cases())
def test_probes_hit_the_port_the_settings_default_to(overlay: str, name: str) -> None:
    deployment = deployments(overlay)[name]
    container = the_container(deployment)
    fields = settings_class(service_of(deployment)).model_fields
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert ports["http"] == fields["http_port"].default
    assert literal_env(deployment)["HTTP_PORT"] == str(fields["http_port"].default)
    for probe, path in (
        ("startupProbe", "/healthz"),
        ("livenessProbe", "/healthz"),
        ("readinessProbe", "/readyz"),
    ):
        http_get = container[probe]["httpGet"]
        assert (http_get["path"], ports.get(http_get["port"], http_get["port"])) == (path, ports["http"]), (
            probe
        )
    if "smtp" in ports:  # intake's SMTP listener
        assert "email" in channels_of(deployment)
        assert ports["smtp"] == fields["email_smtp_port"].default


@pytest.mark.parametrize(("overlay", "name"), deployment_cases())
def test_every_variable_is_a_setting_of_the_service_and_parses(
    overlay: str, name: str, files_dir: Path
) -> None:
    deployment = deployments(overlay)[name]
    service = service_of(deployment)
    environment = pod_environment(overlay, deployment)
    unknown = set(environment) - setting_names(service) - IMAGE_VARIABLES
    assert not unknown, f"{name} sets {sorted(unknown)}, which {service}'s Settings does not read"
    settings = build_settings(service, materialized(overlay, deployment, files_dir))
    for variable, value in literal_env(deployment).items():
        if variable in IMAGE_VARIABLES or variable.endswith("_FILE"):
            continue
        read = getattr(settings, variable.lower())
        read = ",".join(read) if isinstance(read, tuple) else read
        assert str(read).lower() == value.lower(), f"{variable}={value!r} reads as {read!r}"


@pytest.mark.parametrize(("overlay", "name"), deployment_cases())
def test_secrets_are_references_to_the_secret(overlay: str, name: str) -> None:
    deployment = deployments(overlay)[name]
    service = service_of(deployment)
    fields = settings_class(service).model_fields
    secret_fields = {field.upper() for field, info in fields.items() if "SecretStr" in str(info.annotation)}
    env = {var["name"]: var for var in the_container(deployment).get("env", [])}
    referenced = {variable for variable, var in env.items() if "secretKeyRef" in var.get("valueFrom", {})}
    assert not secret_fields & set(literal_env(deployment)), "a secret written in a manifest"
    assert {"MONGODB_URL"} <= referenced  # credentials in the URL
    if service in {"intake", "notifier"}:
        assert "REDIS_URL" in referenced
    needed = secret_fields
    if service == "intake":
        needed = set().union(*(CHANNEL_SECRETS.get(channel, set()) for channel in channels_of(deployment)))
    assert needed <= referenced, f"{name} does not reference {sorted(needed - referenced)}"
    assert not of_kind(overlay, "Secret"), "Secrets are created outside the repository"


@pytest.mark.parametrize(("overlay", "name"), deployment_cases())
def test_pods_meet_the_restricted_pod_security_standard(overlay: str, name: str) -> None:
    pod = pod_spec(deployments(overlay)[name])
    assert pod["automountServiceAccountToken"] is False and pod["enableServiceLinks"] is False
    assert not {"hostNetwork", "hostPID", "hostIPC"} & set(pod)
    assert all("hostPath" not in volume for volume in pod.get("volumes", []))
    assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    for container in pod["containers"]:
        context = {**pod["securityContext"], **container["securityContext"]}
        assert context["runAsNonRoot"] is True and context["runAsUser"] != 0
        assert context["readOnlyRootFilesystem"] is True
        assert context["allowPrivilegeEscalation"] is False and context.get("privileged", False) is False
        assert context["capabilities"] == {"drop": ["ALL"]}
        assert context["seccompProfile"]["type"] == "RuntimeDefault"
        tmp = next(mount for mount in container["volumeMounts"] if mount["mountPath"] == "/tmp")
        assert "emptyDir" in next(volume for volume in pod["volumes"] if volume["name"] == tmp["name"])


def quantity(value: str | int) -> float:
    """A Kubernetes quantity (100m, 1, 256Mi, 1Gi) as a number."""
    units = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "k": 1e3, "M": 1e6, "G": 1e9}
    number, unit = re.fullmatch(r"([0-9.]+)([a-zA-Z]*)", str(value)).groups()  # type: ignore[union-attr]
    return float(number) * units.get(unit, 1)


@pytest.mark.parametrize(("overlay", "name"), deployment_cases())
def test_resources_image_and_graceful_stop(overlay: str, name: str) -> None:
    deployment = deployments(overlay)[name]
    container = the_container(deployment)
    resources = container["resources"]
    for resource in ("cpu", "memory"):
        assert quantity(resources["requests"][resource]) <= quantity(resources["limits"][resource]), resource
    image, tag, _ = kustomize.split_image(container["image"])
    assert image == IMAGE and tag not in {None, "latest"}
    assert tag == {"dev": "dev", "prod": "0.1.0"}[overlay]
    # SIGTERM comes after the preStop pause; the services exit within 10 s of it.
    command = container["lifecycle"]["preStop"]["exec"]["command"]
    assert command[0] == "sleep"
    grace = pod_spec(deployment)["terminationGracePeriodSeconds"]
    assert int(command[1]) + 10 < grace <= 30
    assert "replicas" not in deployment["spec"], "the HorizontalPodAutoscaler owns the replica count"


# ---------------------------------------------------------------- configuration files


LOADERS = {
    "ROUTER_RULES_FILE": lambda path, env: (
        importlib.import_module("helpdesk_router.rule_file").load_rule_file(path).rules
    ),
    "SLA_POLICIES_FILE": lambda path, env: (
        importlib.import_module("helpdesk_sla.policies").load_config_file(path).policies
    ),
    "NOTIFIER_ROUTES_FILE": lambda path, env: (
        importlib.import_module("helpdesk_notifier.routing")
        .load_routes(path, default_from=env["EMAIL_FROM"])
        .slack.team_channels
    ),
    "FEEDBACK_SURVEYS_FILE": lambda path, env: (
        importlib.import_module("helpdesk_feedback.survey_config").load_survey_rules(path).kinds_by_channel
    ),
}


def config_file_cases() -> list[tuple[str, str, str]]:
    return [
        (overlay, name, variable)
        for overlay in OVERLAYS
        for name, deployment in sorted(deployments(overlay).items())
        for variable in sorted(literal_env(deployment))
        if variable.endswith("_FILE")
    ]


def test_every_config_file_setting_is_set() -> None:
    for overlay in OVERLAYS:
        variables = {variable for where, _, variable in config_file_cases() if where == overlay}
        wanted = {
            field.upper()
            for service in SERVICES
            for field in settings_class(service).model_fields
            if field.endswith("_file")
        }
        assert variables == wanted == set(LOADERS)


@pytest.mark.parametrize(("overlay", "name", "variable"), config_file_cases())
def test_config_files_are_mounted_and_the_service_loads_them(
    overlay: str, name: str, variable: str, files_dir: Path
) -> None:
    deployment = deployments(overlay)[name]
    environment = materialized(overlay, deployment, files_dir)
    loaded = LOADERS[variable](Path(environment[variable]), environment)
    assert loaded, f"{variable}: the file configures nothing"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_generated_configmaps_hold_only_files_a_deployment_reads(overlay: str) -> None:
    read: set[tuple[str, str]] = set()
    for deployment in deployments(overlay).values():
        volumes = {volume["name"]: volume for volume in pod_spec(deployment).get("volumes", [])}
        for mount in the_container(deployment).get("volumeMounts", []):
            for variable, value in literal_env(deployment).items():
                if variable.endswith("_FILE") and value.startswith(mount["mountPath"].rstrip("/") + "/"):
                    read.add((volumes[mount["name"]]["configMap"]["name"], value.rsplit("/", 1)[1]))
    generated = {
        (name, key)
        for name, configmap in of_kind(overlay, "ConfigMap").items()
        if not name.startswith("helpdesk-")
        for key in configmap["data"]
    }
    assert generated == read


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_intake_and_notifier_agree_on_the_platform_address(overlay: str) -> None:
    senders = {
        name: pod_environment(overlay, deployment).get("EMAIL_FROM")
        for name, deployment in deployments(overlay).items()
        if service_of(deployment) == "notifier" or "email" in channels_or_none(deployment)
    }
    assert len(senders) == 2 and len(set(senders.values())) == 1, senders


def channels_or_none(deployment: dict[str, Any]) -> tuple[str, ...]:
    return channels_of(deployment) if service_of(deployment) == "intake" else ()


# ---------------------------------------------------------------- Services, Ingress, ServiceMonitor


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_deployment_has_a_service_that_selects_only_it(overlay: str) -> None:
    services = of_kind(overlay, "Service")
    assert set(services) == set(deployments(overlay))
    for name, service in services.items():
        assert selected_deployments(overlay, {"matchLabels": service["spec"]["selector"]}) == {name}
        container_ports = {port["name"] for port in the_container(deployments(overlay)[name])["ports"]}
        assert {port["targetPort"] for port in service["spec"]["ports"]} == container_ports


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize(("method", "path"), PUBLIC_REQUESTS)
def test_public_routes_reach_a_deployment_that_serves_them(
    overlay: str, method: str, path: str, files_dir: Path
) -> None:
    (host,) = public_hosts(overlay)
    route = ingress_route(overlay, host, path)
    assert route is not None, f"{method} {path} is not public"
    service_name, port = route
    assert port in {entry["name"] for entry in of_kind(overlay, "Service")[service_name]["spec"]["ports"]}
    assert serves(app_of(overlay, service_name, files_dir), method, path), (
        f"{service_name} does not serve {method} {path}"
    )


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_internal_routes_are_not_public(overlay: str) -> None:
    (host,) = public_hosts(overlay)
    exposed = [path for path in PRIVATE_PATHS if ingress_route(overlay, host, path) is not None]
    assert not exposed


def nginx_size(value: str) -> int:
    """An ingress-nginx size (1m, 25m, 512k) in bytes."""
    number, unit = re.fullmatch(r"([0-9]+)([kmg]?)", value.lower()).groups()  # type: ignore[union-attr]
    return int(number) * {"": 1, "k": 2**10, "m": 2**20, "g": 2**30}[unit]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_ingress_lets_through_bodies_as_large_as_intake_takes(overlay: str) -> None:
    for ingress in of_kind(overlay, "Ingress").values():
        # ingress-nginx refuses bodies above 1m unless told otherwise.
        limit = nginx_size(
            ingress["metadata"]
            .get("annotations", {})
            .get("nginx.ingress.kubernetes.io/proxy-body-size", "1m")
        )
        for rule in ingress["spec"]["rules"]:
            for entry in rule["http"]["paths"]:
                deployment = deployments(overlay)[entry["backend"]["service"]["name"]]
                service = service_of(deployment)
                if "max_body_bytes" in settings_class(service).model_fields:
                    settings = build_settings(service, pod_environment(overlay, deployment))
                    assert limit >= settings.max_body_bytes, (ingress["metadata"]["name"], entry["path"])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_survey_links_point_at_the_public_host(overlay: str) -> None:
    url = urlsplit(literal_env(deployments(overlay)["feedback"])["FEEDBACK_PUBLIC_URL"])
    tls_hosts = {
        host
        for ingress in of_kind(overlay, "Ingress").values()
        for tls in ingress["spec"]["tls"]
        for host in tls["hosts"]
    }
    assert {url.hostname} == public_hosts(overlay) and url.scheme == "https" and url.hostname in tls_hosts
    assert ingress_route(overlay, url.hostname, "/s/token") == ("feedback", "http")
    assert "{ticket_id}" in literal_env(deployments(overlay)["notifier"])["NOTIFIER_TICKET_URL"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_prometheus_scrapes_every_deployment_once(overlay: str) -> None:
    (monitor,) = of_kind(overlay, "ServiceMonitor").values()
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["path"] == "/metrics"
    scraped = [
        name
        for name, service in of_kind(overlay, "Service").items()
        if selects(monitor["spec"]["selector"], service["metadata"]["labels"])
        and endpoint["port"] in {port["name"] for port in service["spec"]["ports"]}
    ]
    assert sorted(scraped) == sorted(deployments(overlay))


# ---------------------------------------------------------------- NetworkPolicies


def policy_cases() -> list[tuple[str, str]]:
    return [(overlay, name) for overlay in OVERLAYS for name in sorted(of_kind(overlay, "NetworkPolicy"))]


@pytest.mark.parametrize(("overlay", "name"), policy_cases())
def test_network_policies_select_existing_pods_and_ports(overlay: str, name: str) -> None:
    policy = of_kind(overlay, "NetworkPolicy")[name]
    selected = selected_deployments(overlay, policy["spec"]["podSelector"])
    assert selected, f"{name} selects no pod"
    for rule in policy["spec"].get("ingress", []):
        for port in rule["ports"]:
            if isinstance(port["port"], str):  # a named port: every selected pod must have it
                for deployment in selected:
                    names = {
                        entry["name"] for entry in the_container(deployments(overlay)[deployment])["ports"]
                    }
                    assert port["port"] in names, f"{name}: {deployment} has no port {port['port']!r}"


def allowed(overlay: str, deployment: str, direction: str) -> list[dict[str, Any]]:
    """The rules (ingress or egress) of every policy that selects the Deployment's pods."""
    labels = pod_labels(deployments(overlay)[deployment])
    return [
        rule
        for policy in of_kind(overlay, "NetworkPolicy").values()
        if selects(policy["spec"]["podSelector"], labels)
        for rule in policy["spec"].get(direction, [])
    ]


def egress_ports(overlay: str, deployment: str) -> set[int]:
    return {port["port"] for rule in allowed(overlay, deployment, "egress") for port in rule["ports"]}


def ingress_sources(overlay: str, deployment: str) -> set[str]:
    """Who may reach the Deployment's pods: the namespace names of the rules' peers ("*": any)."""
    sources = set()
    for rule in allowed(overlay, deployment, "ingress"):
        for peer in rule.get("from", [{}]):
            labels = peer.get("namespaceSelector", {}).get("matchLabels", {})
            sources.add(labels.get("kubernetes.io/metadata.name", "*"))
    return sources


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_pod_is_denied_by_default(overlay: str) -> None:
    policies = of_kind(overlay, "NetworkPolicy").values()
    for name in deployments(overlay):
        labels = pod_labels(deployments(overlay)[name])
        deny = [
            policy
            for policy in policies
            if selects(policy["spec"]["podSelector"], labels)
            and set(policy["spec"]["policyTypes"]) == {"Ingress", "Egress"}
        ]
        assert deny, f"{name} has no policy for both ingress and egress"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_ingress_is_allowed_where_needed_and_only_there(overlay: str) -> None:
    public = {
        entry["backend"]["service"]["name"]
        for ingress in of_kind(overlay, "Ingress").values()
        for rule in ingress["spec"]["rules"]
        for entry in rule["http"]["paths"]
    }
    for name in deployments(overlay):
        sources = ingress_sources(overlay, name)
        assert "monitoring" in sources, f"Prometheus cannot scrape {name}"
        assert ("ingress-nginx" in sources) == (name in public), name
        # From anywhere: only what is an open protocol endpoint by nature (SMTP), and the opt-in API clients.
        anywhere_ports = {
            port["port"]
            for rule in allowed(overlay, name, "ingress")
            for peer in rule.get("from", [{}])
            if "podSelector" not in peer
            for port in rule["ports"]
        }
        assert anywhere_ports <= ({"smtp"} if name == "intake-email" else set()), name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_egress_reaches_what_each_service_uses_and_no_more(overlay: str) -> None:
    common = of_kind(overlay, "ConfigMap")["helpdesk-common"]["data"]
    kafka_ports = {int(server.rsplit(":", 1)[1]) for server in common["KAFKA_BOOTSTRAP_SERVERS"].split(",")}
    for name, deployment in deployments(overlay).items():
        environment = pod_environment(overlay, deployment)
        ports = egress_ports(overlay, name)
        assert {53, 27017} | kafka_ports <= ports, name
        assert (6379 in ports) == ("REDIS_URL" in environment), name
        outside = ports - {53, 27017, 6379} - kafka_ports
        if service_of(deployment) == "notifier":
            settings = settings_class("notifier").model_fields
            slack = urlsplit(settings["slack_api_url"].default)
            assert slack.scheme == "https" and outside == {443, int(environment["SMTP_PORT"])}
        else:
            assert not outside, f"{name} may reach {outside}"


# ---------------------------------------------------------------- autoscaling and disruption budgets


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_deployment_has_an_autoscaler_and_a_disruption_budget(overlay: str) -> None:
    topics = {topic["spec"]["topicName"]: topic for topic in of_kind(overlay, "KafkaTopic").values()}
    prefix = of_kind(overlay, "ConfigMap")["helpdesk-common"]["data"]["KAFKA_TOPIC_PREFIX"]
    tickets_partitions = topics[f"{prefix}tickets"]["spec"]["partitions"]
    autoscalers = of_kind(overlay, "HorizontalPodAutoscaler")
    budgets = of_kind(overlay, "PodDisruptionBudget")
    assert sorted(hpa["spec"]["scaleTargetRef"]["name"] for hpa in autoscalers.values()) == sorted(
        deployments(overlay)
    )
    for hpa in autoscalers.values():
        target = hpa["spec"]["scaleTargetRef"]
        assert (target["apiVersion"], target["kind"]) == ("apps/v1", "Deployment")
        assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
        if not target["name"].startswith("intake-"):  # pure consumers: more members than partitions idle
            assert hpa["spec"]["maxReplicas"] <= tickets_partitions, target["name"]
    covered = [selected_deployments(overlay, budget["spec"]["selector"]) for budget in budgets.values()]
    assert all(len(names) == 1 for names in covered)
    assert sorted(name for names in covered for name in names) == sorted(deployments(overlay))
    for budget in budgets.values():
        assert budget["spec"].get("maxUnavailable", 0) >= 1, "a budget that blocks every drain"


# ---------------------------------------------------------------- Kafka topics


def router_leader_topic(overlay: str) -> str:
    """The name faust gives the router's leader topic, from the router's own faust app."""
    from helpdesk_router.stream import TicketStream

    router = deployments(overlay)["router"]
    settings = build_settings("router", pod_environment(overlay, router))
    stream = TicketStream(settings, dispatcher=None)  # type: ignore[arg-type]
    try:
        return stream.build()._leader_assignor._leader_topic_name  # type: ignore[attr-defined]
    finally:
        stream._datadir.cleanup()  # type: ignore[union-attr]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_kafka_topics_cover_every_topic_the_services_use(overlay: str) -> None:
    common = of_kind(overlay, "ConfigMap")["helpdesk-common"]["data"]
    assert common["KAFKA_CREATE_TOPICS"] == "false"
    topics = of_kind(overlay, "KafkaTopic").values()
    expected = set(TopicNames(common["KAFKA_TOPIC_PREFIX"]).all().values()) | {router_leader_topic(overlay)}
    assert sorted(topic["spec"]["topicName"] for topic in topics) == sorted(expected)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_kafka_topics_belong_to_the_cluster_and_keep_events_as_long_as_the_settings_say(overlay: str) -> None:
    common = of_kind(overlay, "ConfigMap")["helpdesk-common"]["data"]
    defaults = ServiceSettings.model_fields
    retention = int(common.get("KAFKA_TOPIC_RETENTION_MS", defaults["kafka_topic_retention_ms"].default))
    bootstrap_host = common["KAFKA_BOOTSTRAP_SERVERS"].split(",")[0].rsplit(":", 1)[0]
    for topic in of_kind(overlay, "KafkaTopic").values():
        spec, cluster = topic["spec"], topic["metadata"]["labels"]["strimzi.io/cluster"]
        assert bootstrap_host.split(".")[0] == f"{cluster}-kafka-bootstrap"  # Strimzi's bootstrap Service
        assert spec["config"]["retention.ms"] == retention > 0
        assert spec["replicas"] == int(common["KAFKA_REPLICATION_FACTOR"])
        assert spec["config"]["min.insync.replicas"] <= spec["replicas"]


# ---------------------------------------------------------------- the kustomization files


KUSTOMIZATIONS = sorted(K8S_DIR.rglob("kustomization.yaml"))


def listed_files(kustomization: dict[str, Any]) -> list[str]:
    """Every local path a kustomization refers to (resources, patches, generators)."""
    paths = list(kustomization.get("resources", []))
    paths += [patch["path"] for patch in kustomization.get("patches", []) if "path" in patch]
    for generator in kustomization.get("configMapGenerator", []):
        paths += [entry.split("=", 1)[-1] for entry in generator.get("files", [])]
    return paths


@pytest.mark.parametrize("path", KUSTOMIZATIONS, ids=lambda p: str(p.parent.relative_to(K8S_DIR)))
def test_kustomization_lists_only_existing_files(path: Path) -> None:
    kustomization = yaml.safe_load(path.read_text())
    missing = [entry for entry in listed_files(kustomization) if not (path.parent / entry).exists()]
    assert not missing, f"{path.relative_to(ROOT)} lists missing {missing}"


def test_base_lists_every_manifest_and_config_file() -> None:
    kustomization = yaml.safe_load((K8S_BASE / "kustomization.yaml").read_text())
    on_disk = {path.name for path in K8S_BASE.glob("*.yaml")} - {"kustomization.yaml"}
    assert on_disk == set(kustomization["resources"])
    configs = {str(path.relative_to(K8S_BASE)) for path in (K8S_BASE / "config").glob("*")}
    assert configs == {
        entry.split("=", 1)[-1] for g in kustomization["configMapGenerator"] for entry in g["files"]
    }


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_files_are_all_used(overlay: str) -> None:
    directory = K8S_DIR / "overlays" / overlay
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    on_disk = {path.name for path in directory.glob("*.yaml")} - {"kustomization.yaml"}
    assert on_disk == set(listed_files(kustomization)) - {"../../base"}
