"""JSON Schemas of the two custom resources deploy/k8s uses, written from their documented fields.

kubernetes-validate ships the built-in kinds only. These follow the API references of Strimzi
(`KafkaTopic`, kafka.strimzi.io/v1beta2: KafkaTopicSpec) and of the Prometheus Operator (`ServiceMonitor`,
monitoring.coreos.com/v1: ServiceMonitorSpec, Endpoint). Unknown fields are refused: the API server prunes
fields a CRD's structural schema does not know, so a misspelt field would otherwise vanish without a word.
Kafka topic configs are limited to Kafka's documented topic-level configs, with types for those used here.
"""

from __future__ import annotations

from typing import Any

DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
# Prometheus durations: 30s, 1m30s, 500ms.
DURATION = r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$"

STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}

METADATA: dict[str, Any] = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "maxLength": 253, "pattern": DNS_SUBDOMAIN},
        "namespace": {"type": "string"},
        "labels": STRING_MAP,
        "annotations": STRING_MAP,
    },
    "additionalProperties": False,
}

LABEL_SELECTOR: dict[str, Any] = {
    "type": "object",
    "properties": {
        "matchLabels": STRING_MAP,
        "matchExpressions": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["key", "operator"],
                "properties": {
                    "key": {"type": "string"},
                    "operator": {"enum": ["In", "NotIn", "Exists", "DoesNotExist"]},
                    "values": {"type": "array", "items": {"type": "string"}},
                },
                "additionalProperties": False,
            },
        },
    },
    "additionalProperties": False,
}

# Kafka's topic-level configs (kafka.apache.org documentation, "Topic-Level Configs").
KAFKA_TOPIC_CONFIGS = {
    "cleanup.policy",
    "compression.type",
    "compression.gzip.level",
    "compression.lz4.level",
    "compression.zstd.level",
    "delete.retention.ms",
    "file.delete.delay.ms",
    "flush.messages",
    "flush.ms",
    "follower.replication.throttled.replicas",
    "index.interval.bytes",
    "leader.replication.throttled.replicas",
    "local.retention.bytes",
    "local.retention.ms",
    "max.compaction.lag.ms",
    "max.message.bytes",
    "message.downconversion.enable",
    "message.format.version",
    "message.timestamp.after.max.ms",
    "message.timestamp.before.max.ms",
    "message.timestamp.difference.max.ms",
    "message.timestamp.type",
    "min.cleanable.dirty.ratio",
    "min.compaction.lag.ms",
    "min.insync.replicas",
    "preallocate",
    "remote.storage.enable",
    "retention.bytes",
    "retention.ms",
    "segment.bytes",
    "segment.index.bytes",
    "segment.jitter.ms",
    "segment.ms",
    "unclean.leader.election.enable",
}

KAFKA_TOPIC: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "KafkaTopic (kafka.strimzi.io/v1beta2)",
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "kafka.strimzi.io/v1beta2"},
        "kind": {"const": "KafkaTopic"},
        "metadata": METADATA,
        "spec": {
            "type": "object",
            "properties": {
                "topicName": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 249,
                    "pattern": r"^[a-zA-Z0-9._-]+$",
                },
                "partitions": {"type": "integer", "minimum": 1},
                "replicas": {"type": "integer", "minimum": 1, "maximum": 32767},
                "config": {
                    "type": "object",
                    "propertyNames": {"enum": sorted(KAFKA_TOPIC_CONFIGS)},
                    "additionalProperties": {"type": ["string", "integer", "number", "boolean"]},
                    "properties": {
                        "retention.ms": {"type": "integer", "minimum": -1},
                        "min.insync.replicas": {"type": "integer", "minimum": 1},
                        "cleanup.policy": {"enum": ["delete", "compact", "compact,delete", "delete,compact"]},
                    },
                },
            },
            "additionalProperties": False,
        },
    },
    "additionalProperties": False,
}

ENDPOINT: dict[str, Any] = {
    "type": "object",
    "properties": {
        "port": {"type": "string"},
        "targetPort": {"type": ["string", "integer"]},
        "path": {"type": "string", "pattern": "^/"},
        "scheme": {"enum": ["http", "https", "HTTP", "HTTPS"]},
        "params": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
        "interval": {"type": "string", "pattern": DURATION},
        "scrapeTimeout": {"type": "string", "pattern": DURATION},
        "honorLabels": {"type": "boolean"},
        "honorTimestamps": {"type": "boolean"},
        "trackTimestampsStaleness": {"type": "boolean"},
        "followRedirects": {"type": "boolean"},
        "enableHttp2": {"type": "boolean"},
        "filterRunning": {"type": "boolean"},
        "proxyUrl": {"type": "string"},
        "noProxy": {"type": "string"},
        "proxyFromEnvironment": {"type": "boolean"},
        "proxyConnectHeader": {"type": "object"},
        "bearerTokenFile": {"type": "string"},
        "bearerTokenSecret": {"type": "object"},
        "authorization": {"type": "object"},
        "basicAuth": {"type": "object"},
        "oauth2": {"type": "object"},
        "tlsConfig": {"type": "object"},
        "relabelings": {"type": "array", "items": {"type": "object"}},
        "metricRelabelings": {"type": "array", "items": {"type": "object"}},
    },
    "additionalProperties": False,
}

SERVICE_MONITOR: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "ServiceMonitor (monitoring.coreos.com/v1)",
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "kind": {"const": "ServiceMonitor"},
        "metadata": METADATA,
        "spec": {
            "type": "object",
            "required": ["selector", "endpoints"],
            "properties": {
                "selector": LABEL_SELECTOR,
                "endpoints": {"type": "array", "minItems": 1, "items": ENDPOINT},
                "namespaceSelector": {
                    "type": "object",
                    "properties": {
                        "any": {"type": "boolean"},
                        "matchNames": {"type": "array", "items": {"type": "string"}},
                    },
                    "additionalProperties": False,
                },
                "jobLabel": {"type": "string"},
                "targetLabels": {"type": "array", "items": {"type": "string"}},
                "podTargetLabels": {"type": "array", "items": {"type": "string"}},
                "sampleLimit": {"type": "integer", "minimum": 0},
                "targetLimit": {"type": "integer", "minimum": 0},
                "labelLimit": {"type": "integer", "minimum": 0},
                "labelNameLengthLimit": {"type": "integer", "minimum": 0},
                "labelValueLengthLimit": {"type": "integer", "minimum": 0},
                "keepDroppedTargets": {"type": "integer", "minimum": 0},
                "bodySizeLimit": {"type": "string"},
                "scrapeClass": {"type": "string"},
                "scrapeProtocols": {"type": "array", "items": {"type": "string"}},
                "fallbackScrapeProtocol": {"type": "string"},
                "scrapeClassicHistograms": {"type": "boolean"},
                "nativeHistogramBucketLimit": {"type": "integer", "minimum": 0},
                "nativeHistogramMinBucketFactor": {"type": ["string", "number"]},
                "convertClassicHistogramsToNHCB": {"type": "boolean"},
                "attachMetadata": {"type": "object"},
                "selectorMechanism": {"enum": ["RelabelConfig", "RoleSelector"]},
                "serviceDiscoveryRole": {"enum": ["Endpoints", "EndpointSlice"]},
            },
            "additionalProperties": False,
        },
    },
    "additionalProperties": False,
}

CRD_SCHEMAS: dict[tuple[str, str], dict[str, Any]] = {
    ("kafka.strimzi.io/v1beta2", "KafkaTopic"): KAFKA_TOPIC,
    ("monitoring.coreos.com/v1", "ServiceMonitor"): SERVICE_MONITOR,
}
