"""Checks Kubernetes objects (manifests, the emulator's pods) against the API's schemas as the
official Python client's models (Debian's python3-kubernetes) describe them: every key must be a
field of its model (`attribute_map`), every value of the field's type (`openapi_types`), every
required field present, and apiVersion one that serves the kind. Needs no cluster.

    errors = check_object(doc)      # [] or ["DaemonSet sluice: spec.template.spec.x: ..."]

Debian 12's python3-kubernetes is client 22.6, the API of Kubernetes 1.22: a field added later
(a pod's status.hostIPs, spec.hostUsers, a container's resizePolicy) counts as unknown, so the
manifests and kube_objects.py use none.

python3-kubernetes installs into Debian's python3 (/usr/lib/python3/dist-packages); an
interpreter that does not look there (a pyenv or venv python3, which may be the one CMake found
for the tests) gets that directory appended to its path. `models_available()` says whether the
models could be imported (the tests fail, not skip, without them: scripts/install-deps.sh
installs the package).
"""

import functools
import inspect
import re
import sys

_DEBIAN_DIST_PACKAGES = "/usr/lib/python3/dist-packages"


def _import_client():
    try:
        import kubernetes.client as client
        return client
    except ImportError:
        pass
    if _DEBIAN_DIST_PACKAGES not in sys.path:
        sys.path.append(_DEBIAN_DIST_PACKAGES)
    try:
        import kubernetes.client as client
        return client
    except ImportError:
        return None


_client = _import_client()


def models_available():
    return _client is not None


def _require():
    if _client is None:
        raise AssertionError("python3-kubernetes is not installed (scripts/install-deps.sh "
                             "installs it): the Kubernetes API models are needed")
    return _client


# Fields that are resource.Quantity (int or string) in the API, typed `str` in the models.
_QUANTITY_PARENTS = {"limits", "requests", "overhead", "capacity", "allocatable", "hard"}
_QUANTITY_FIELDS = {"sizeLimit", "storage"}


@functools.lru_cache(maxsize=None)
def _required_fields(model):
    """The attributes whose setter refuses None: the model's required fields."""
    required = set()
    for attr in model.openapi_types:
        setter = getattr(model, attr).fset
        if setter is not None and "must not be `None`" in inspect.getsource(setter):
            required.add(attr)
    return required


def _check_value(value, type_name, path, errors, quantity=False):
    if value is None:  # an explicit null is the field unset
        return
    if type_name == "object":  # IntOrString, RawExtension, FieldsV1: anything
        return
    if type_name.startswith("list["):
        if not isinstance(value, list):
            errors.append(f"{path}: expected a list ({type_name}), got {type(value).__name__}")
            return
        for i, item in enumerate(value):
            _check_value(item, type_name[5:-1], f"{path}[{i}]", errors)
        return
    if type_name.startswith("dict("):
        if not isinstance(value, dict):
            errors.append(f"{path}: expected a mapping ({type_name}), got "
                          f"{type(value).__name__}")
            return
        item_type = type_name[5:-1].split(", ", 1)[1]
        parent = path.rsplit(".", 1)[-1]
        for key, item in value.items():
            if not isinstance(key, str):
                errors.append(f"{path}: key {key!r} is not a string")
            _check_value(item, item_type, f"{path}.{key}", errors,
                         quantity=parent in _QUANTITY_PARENTS)
        return
    scalar = {"str": str, "datetime": str, "date": str, "bool": bool}
    if type_name in scalar:
        ok = isinstance(value, scalar[type_name])
        if type_name == "str" and quantity:
            ok = ok or (isinstance(value, (int, float)) and not isinstance(value, bool))
        if not ok:
            errors.append(f"{path}: expected {type_name}, got {type(value).__name__} "
                          f"{value!r}")
        return
    if type_name in ("int", "float"):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (
                type_name == "int" and isinstance(value, float)):
            errors.append(f"{path}: expected {type_name}, got {type(value).__name__} "
                          f"{value!r}")
        return
    _check_model(value, getattr(_require().models, type_name), path, errors)


def _check_model(value, model, path, errors):
    if not isinstance(value, dict):
        errors.append(f"{path}: expected an object ({model.__name__}), got "
                      f"{type(value).__name__}")
        return
    by_json_name = {json_name: attr for attr, json_name in model.attribute_map.items()}
    for key, item in value.items():
        attr = by_json_name.get(key)
        where = f"{path}.{key}" if path else key
        if attr is None:
            errors.append(f"{where}: unknown field of {model.__name__} (known: "
                          f"{', '.join(sorted(by_json_name))})")
            continue
        _check_value(item, model.openapi_types[attr], where, errors,
                     quantity=key in _QUANTITY_FIELDS)
    for attr in sorted(_required_fields(model)):
        if value.get(model.attribute_map[attr]) is None:
            errors.append(f"{path + '.' if path else ''}{model.attribute_map[attr]}: required "
                          f"field of {model.__name__} missing")


def _snake(kind):
    return re.sub(r"(?<!^)(?=[A-Z])", "_", kind).lower()


@functools.lru_cache(maxsize=None)
def served_versions(kind):
    """{apiVersion: namespaced} of every API group version that serves `kind`, read from the
    client's create methods (their URL paths)."""
    client = _require()
    out = {}
    snake = _snake(kind)
    for name in dir(client):
        if not name.endswith("Api"):
            continue
        api = getattr(client, name)
        for namespaced in (True, False):
            method = getattr(api, f"create_{'namespaced_' if namespaced else ''}{snake}"
                                   "_with_http_info", None)
            if method is None:
                continue
            m = re.search(r"'/api/(v1)/|'/apis/([^/']+/[^/']+)/", inspect.getsource(method))
            if m:
                out[m.group(1) or m.group(2)] = namespaced
    return out


def model_for(api_version, kind):
    """The model class of `kind` in `api_version` (V1DaemonSet for apps/v1 DaemonSet)."""
    version = api_version.rsplit("/", 1)[-1]
    return getattr(_require().models, version[:1].upper() + version[1:] + kind, None)


def check_object(doc):
    """Errors of one object (a parsed YAML document or API answer), each with its path."""
    if not isinstance(doc, dict):
        return [f"document is a {type(doc).__name__}, not an object"]
    kind, api_version = doc.get("kind"), doc.get("apiVersion")
    name = (doc.get("metadata") or {}).get("name", "?")
    label = f"{kind} {name}"
    if not isinstance(kind, str) or not isinstance(api_version, str):
        return [f"{label}: kind and apiVersion are required"]
    served = served_versions(kind)
    if api_version not in served:
        return [f"{label}: apiVersion {api_version} does not serve kind {kind} (served by: "
                f"{', '.join(sorted(served)) or 'none'})"]
    model = model_for(api_version, kind)
    if model is None:
        return [f"{label}: no model for {api_version} {kind}"]
    errors = []
    _check_model(doc, model, "", errors)
    if not served[api_version] and "namespace" in (doc.get("metadata") or {}):
        errors.append("metadata.namespace: set on cluster-scoped kind")
    return [f"{label}: {e}" for e in errors]
