"""A small kustomize renderer for the tests: exactly the features deploy/k8s uses, and no other.

No kustomize or kubectl binary is available to the tests (and no PyPI package renders kustomizations on
this Python), so `render(directory)` does what `kubectl kustomize directory` does for these fields:

* `resources`: files (every YAML document in them) and directories (another kustomization, rendered first);
* `configMapGenerator`: `name` with `files` (`key=path` or `path`) and/or `literals` (`KEY=value`), behavior
  create only; files must lie inside the kustomization's directory (kustomize's default load restriction).
  The generated name carries kustomize's content hash suffix (`name-<10 characters>`, computed as
  kustomize's hasher does: sha256 of the JSON of kind, name and data, first ten hex digits with 0, 1, 3, a
  and e swapped for g, h, k, m and t), and every reference to it from a pod template (volumes, projected
  volumes, `envFrom`, `valueFrom.configMapKeyRef`) is renamed, as kustomize's name-reference step does;
* `patches`: strategic merge patches, from `path` or inline `patch`, aimed by the patch's own kind and name
  or by a `target` (kind, name as a regular expression, labelSelector `k=v,...`); maps merge, `null` deletes
  a key, lists merge by the Kubernetes API's merge key where it has one for the fields used here (containers,
  initContainers, volumes and imagePullSecrets by name; env by name; volumeMounts by mountPath; container
  ports by containerPort; Service ports by port) and are replaced otherwise, as for custom resources;
  and JSON 6902 patches (a YAML list of `add`, `replace` and `remove` operations) with a `target`;
* `namespace`: set on every namespaced object;
* `labels` (`pairs`, with `includeSelectors: false`): added to every object's metadata.labels;
* `images`: `name` with `newName`, `newTag` and/or `digest`, in every pod template's containers.

Anything else (another kustomization field, another JSON 6902 operation, a `$patch` directive, a generator
option, a patch that matches nothing) raises `Unsupported` or `KustomizeError` rather than render something
kustomize would not: a test then fails and names the feature to add here.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

FIELDS = {"apiVersion", "kind", "resources", "namespace", "labels", "patches", "images", "configMapGenerator"}
GENERATOR_FIELDS = {"name", "files", "literals"}
# Kinds without a namespace (of those a help-desk deployment could contain); every other kind gets one.
CLUSTER_SCOPED = {
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "PersistentVolume",
    "StorageClass",
    "PriorityClass",
    "IngressClass",
    "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
}
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}
POD_SPEC = ("spec", "template", "spec")
CONTAINER_LISTS = ("containers", "initContainers", "ephemeralContainers")


class KustomizeError(ValueError):
    """The kustomization cannot be rendered (kustomize would refuse it too)."""


class Unsupported(KustomizeError):
    """The kustomization uses a feature this renderer does not implement."""


@dataclass
class Resource:
    obj: dict[str, Any]
    generated: bool = False  # a configMapGenerator's output: its name gets the hash suffix at the end

    @property
    def kind(self) -> str:
        return self.obj["kind"]

    @property
    def name(self) -> str:
        return self.obj["metadata"]["name"]


def render(directory: Path) -> list[dict[str, Any]]:
    """The objects `kubectl kustomize directory` would print, in the order the resources are listed."""
    resources = _build(Path(directory))
    _name_generated(resources)
    return [resource.obj for resource in resources]


def _build(directory: Path) -> list[Resource]:
    path = directory / "kustomization.yaml"
    if not path.is_file():
        raise KustomizeError(f"{directory}: no kustomization.yaml")
    kustomization = yaml.safe_load(path.read_text()) or {}
    unknown = set(kustomization) - FIELDS
    if unknown:
        raise Unsupported(
            f"{path}: fields {sorted(unknown)} are not implemented by tests/support/kustomize.py"
        )
    resources: list[Resource] = []
    for entry in kustomization.get("resources", []):
        target = directory / entry
        if target.is_dir():
            resources += _build(target)
        elif target.is_file():
            resources += [Resource(doc) for doc in yaml.safe_load_all(target.read_text()) if doc]
        else:
            raise KustomizeError(f"{path}: resource {entry!r} does not exist")
    resources += [
        _generate(directory, generator) for generator in kustomization.get("configMapGenerator", [])
    ]
    _refuse_duplicates(resources, path)
    for patch in kustomization.get("patches", []):
        _patch(resources, directory, patch)
    if "namespace" in kustomization:
        _set_namespace(resources, kustomization["namespace"])
    for labels in kustomization.get("labels", []):
        _add_labels(resources, labels)
    for image in kustomization.get("images", []):
        _set_image(resources, image)
    return resources


# ---------------------------------------------------------------- generators


def _inside(directory: Path, relative: str) -> Path:
    path = (directory / relative).resolve()
    if not path.is_relative_to(directory.resolve()):
        raise KustomizeError(f"{relative}: outside {directory} (kustomize's load restriction refuses it)")
    return path


def _generate(directory: Path, generator: dict[str, Any]) -> Resource:
    unknown = set(generator) - GENERATOR_FIELDS
    if unknown:
        raise Unsupported(f"configMapGenerator {generator.get('name')!r}: {sorted(unknown)} not implemented")
    data: dict[str, str] = {}
    for entry in generator.get("files", []):
        key, _, relative = entry.rpartition("=")
        path = _inside(directory, relative)
        data[key or path.name] = path.read_text(encoding="utf-8")
    for entry in generator.get("literals", []):
        key, separator, value = entry.partition("=")
        if not separator:
            raise KustomizeError(f"configMapGenerator literal {entry!r} is not KEY=value")
        data[key] = value
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": generator["name"]}, "data": data}
    return Resource(obj, generated=True)


def configmap_hash(name: str, data: dict[str, str]) -> str:
    """kustomize's name suffix of a generated ConfigMap (api/hasher: ConfigMapHash, encodeHash)."""
    encoded = json.dumps(
        {"data": data, "kind": "ConfigMap", "name": name}, separators=(",", ":"), sort_keys=True
    )
    # Go's json.Marshal escapes these (HTML-safe output), Python's json does not.
    for raw, escaped in (
        ("&", "\\u0026"),
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        encoded = encoded.replace(raw, escaped)
    digest = hashlib.sha256(encoded.encode()).hexdigest()[:10]
    return digest.translate(str.maketrans("013ae", "ghkmt"))


def _name_generated(resources: list[Resource]) -> None:
    renamed: dict[tuple[str | None, str], str] = {}
    for resource in resources:
        if resource.generated:
            meta = resource.obj["metadata"]
            final = f"{meta['name']}-{configmap_hash(meta['name'], resource.obj['data'])}"
            renamed[(meta.get("namespace"), meta["name"])] = final
            meta["name"] = final
    for resource in resources:
        namespace = resource.obj["metadata"].get("namespace")
        for ref in _configmap_refs(resource.obj):
            ref["name"] = renamed.get((namespace, ref["name"]), ref["name"])


def _configmap_refs(obj: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every {name: ...} in a pod template that names a ConfigMap."""
    if obj["kind"] not in WORKLOADS:
        return
    pod = obj["spec"]["template"]["spec"]
    for volume in pod.get("volumes", []):
        if "configMap" in volume:
            yield volume["configMap"]
        for source in volume.get("projected", {}).get("sources", []):
            if "configMap" in source:
                yield source["configMap"]
    for container in _containers(pod):
        for source in container.get("envFrom", []):
            if "configMapRef" in source:
                yield source["configMapRef"]
        for var in container.get("env", []):
            if "configMapKeyRef" in var.get("valueFrom", {}):
                yield var["valueFrom"]["configMapKeyRef"]


def _containers(pod: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for field in CONTAINER_LISTS:
        yield from pod.get(field, [])


def _refuse_duplicates(resources: list[Resource], where: Path) -> None:
    seen: set[tuple[str, str | None, str]] = set()
    for resource in resources:
        key = (resource.kind, resource.obj["metadata"].get("namespace"), resource.name)
        if key in seen:
            raise KustomizeError(f"{where}: {key} appears twice")
        seen.add(key)


# ---------------------------------------------------------------- patches


def _patch(resources: list[Resource], directory: Path, entry: dict[str, Any]) -> None:
    unknown = set(entry) - {"path", "patch", "target"}
    if unknown or ("path" in entry) == ("patch" in entry):
        raise Unsupported(f"patch {entry}: give exactly one of path or patch, and optionally target")
    text = _inside(directory, entry["path"]).read_text() if "path" in entry else entry["patch"]
    documents = [doc for doc in yaml.safe_load_all(text) if doc is not None]
    if len(documents) == 1 and isinstance(documents[0], list):
        if "target" not in entry:
            raise KustomizeError(f"patch {entry}: a JSON 6902 patch needs a target")
        targets = [r for r in resources if _selected(r, entry["target"])]
        if not targets:
            raise KustomizeError(f"patch {entry} matches no resource")
        for resource in targets:
            for operation in documents[0]:
                _json6902(resource.obj, operation)
        return
    for document in documents:
        if not isinstance(document, dict):
            raise Unsupported(f"patch {entry}: not a strategic merge patch nor a JSON 6902 list")
        if "target" in entry:
            targets = [r for r in resources if _selected(r, entry["target"])]
        else:
            targets = [
                r
                for r in resources
                if r.kind == document.get("kind")
                and r.name == document.get("metadata", {}).get("name")
                and document.get("metadata", {}).get("namespace")
                in (None, r.obj["metadata"].get("namespace"))
            ]
        if not targets:
            raise KustomizeError(f"patch {entry} matches no resource")
        if "target" not in entry and len(targets) > 1:
            raise KustomizeError(f"patch {entry} matches {len(targets)} resources; kustomize wants one")
        for resource in targets:
            if resource.generated:
                raise Unsupported(f"patching the generated {resource.name!r} is not implemented")
            patch = copy.deepcopy(document)
            if "target" in entry:  # aimed by the target: the patch's own name does not rename the object
                patch.setdefault("metadata", {})["name"] = resource.name
            resource.obj = _merge(resource.obj, patch, resource.kind, ())


def _json6902(obj: dict[str, Any], operation: dict[str, Any]) -> None:
    """One RFC 6902 operation (add, replace, remove) on `obj`, in place."""
    op, pointer = operation.get("op"), operation.get("path", "")
    if op not in {"add", "replace", "remove"} or set(operation) - {"op", "path", "value"}:
        raise Unsupported(f"JSON 6902 operation {operation}: only add, replace and remove are implemented")
    *parents, last = [part.replace("~1", "/").replace("~0", "~") for part in pointer.split("/")[1:]]
    node: Any = obj
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if isinstance(node, list):
        index = len(node) if last == "-" else int(last)
        if op != "add" and not 0 <= index < len(node):
            raise KustomizeError(f"JSON 6902 {op} {pointer}: no such element")
        if op == "add":
            node.insert(index, copy.deepcopy(operation["value"]))
        elif op == "replace":
            node[index] = copy.deepcopy(operation["value"])
        else:
            del node[index]
    else:
        if op != "add" and last not in node:
            raise KustomizeError(f"JSON 6902 {op} {pointer}: no such member")
        if op == "remove":
            del node[last]
        else:
            node[last] = copy.deepcopy(operation["value"])


def _selected(resource: Resource, target: dict[str, Any]) -> bool:
    unknown = set(target) - {"kind", "name", "labelSelector"}
    if unknown:
        raise Unsupported(f"patch target fields {sorted(unknown)} are not implemented")
    if "kind" in target and resource.kind != target["kind"]:
        return False
    if "name" in target and not re.fullmatch(target["name"], resource.name):
        return False
    labels = resource.obj["metadata"].get("labels", {})
    for requirement in filter(None, target.get("labelSelector", "").split(",")):
        key, separator, value = requirement.partition("=")
        if not separator or "!" in key:
            raise Unsupported(f"labelSelector {requirement!r}: only key=value is implemented")
        if labels.get(key.strip()) != value.strip():
            return False
    return True


def _merge_key(kind: str, path: tuple[str, ...]) -> str | None:
    """The patchMergeKey of the list at `path` in an object of `kind`; None: the list is replaced."""
    if kind == "Service" and path == ("spec", "ports"):
        return "port"
    if kind not in WORKLOADS or path[:3] != POD_SPEC:
        return None
    relative = path[3:]
    if relative in {(field,) for field in CONTAINER_LISTS} or relative in {
        ("volumes",),
        ("imagePullSecrets",),
    }:
        return "name"
    if len(relative) == 2 and relative[0] in CONTAINER_LISTS:
        return {"env": "name", "volumeMounts": "mountPath", "ports": "containerPort"}.get(relative[1])
    return None


def _merge(original: Any, patch: Any, kind: str, path: tuple[str, ...]) -> Any:
    if isinstance(patch, dict):
        if any(key.startswith("$") for key in patch):
            raise Unsupported(
                f"directives {sorted(k for k in patch if k.startswith('$'))} are not implemented"
            )
        if not isinstance(original, dict):
            return {key: value for key, value in patch.items() if value is not None}
        merged = dict(original)
        for key, value in patch.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = _merge(original.get(key), value, kind, (*path, key))
        return merged
    if isinstance(patch, list):
        key = _merge_key(kind, path)
        if key is None or not isinstance(original, list):
            return copy.deepcopy(patch)
        merged_list = [copy.deepcopy(item) for item in original]
        for item in patch:
            if not isinstance(item, dict) or key not in item:
                raise KustomizeError(f"{'.'.join(path)}: patch item without its merge key {key!r}: {item}")
            index = next((i for i, old in enumerate(merged_list) if old.get(key) == item[key]), None)
            if index is None:
                merged_list.append(_merge(None, item, kind, path))
            else:
                merged_list[index] = _merge(merged_list[index], item, kind, path)
        return merged_list
    return patch


# ---------------------------------------------------------------- transformers


def _set_namespace(resources: list[Resource], namespace: str) -> None:
    for resource in resources:
        if resource.kind == "Namespace":
            if resource.name != namespace:
                raise Unsupported(
                    f"Namespace {resource.name!r} under namespace {namespace!r} is not implemented"
                )
        elif resource.kind not in CLUSTER_SCOPED:
            resource.obj["metadata"]["namespace"] = namespace


def _add_labels(resources: list[Resource], entry: dict[str, Any]) -> None:
    unknown = set(entry) - {"pairs", "includeSelectors"}
    if unknown or entry.get("includeSelectors", False):
        raise Unsupported(f"labels {entry}: only pairs with includeSelectors: false are implemented")
    for resource in resources:
        resource.obj["metadata"].setdefault("labels", {}).update(entry["pairs"])


def split_image(image: str) -> tuple[str, str | None, str | None]:
    """ "registry:5000/app:1.2@sha256:..." -> ("registry:5000/app", "1.2", "sha256:...")."""
    rest, _, digest = image.partition("@")
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > slash:
        return rest[:colon], rest[colon + 1 :], digest or None
    return rest, None, digest or None


def _set_image(resources: list[Resource], entry: dict[str, Any]) -> None:
    unknown = set(entry) - {"name", "newName", "newTag", "digest"}
    if unknown:
        raise Unsupported(f"images entry fields {sorted(unknown)} are not implemented")
    for resource in resources:
        if resource.kind not in WORKLOADS:
            continue
        for container in _containers(resource.obj["spec"]["template"]["spec"]):
            name, tag, digest = split_image(container["image"])
            if name != entry["name"]:
                continue
            name = entry.get("newName", name)
            if "digest" in entry:
                container["image"] = f"{name}@{entry['digest']}"
            elif "newTag" in entry:
                container["image"] = f"{name}:{entry['newTag']}"
            else:
                container["image"] = name + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")
