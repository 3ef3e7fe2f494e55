"""az's names for the support reports: camelCase keys, one name per concept, breakdowns nested.

`python -m telemetry_sender status|show --json` keeps its documented snake_case contract;
`az prototype telemetry ...` prints the same values the way every az command does. The
status document says "rejected" three ways (dead letters in rejected/, the loss counter,
the dead letters the folder's cap removed): here they are one `lost.rejected` object.
The mapping is a table, so the table views read the az document back into the report's
shape for the shared renderers; keys the table does not know are camelCased as they come.
"""

from __future__ import annotations

from typing import Any, Mapping

# status report key (dotted = nested in the report) -> path in the az document
STATUS_PATHS: dict[str, tuple[str, ...]] = {
    "enabled": ("enabled",),
    "reason": ("reason",),
    "connection_source": ("connectionSource",),
    "endpoint_host": ("endpointHost",),
    "redirect_host": ("redirectHost",),
    "spool": ("spool",),
    "pending": ("pending",),
    "pending_bytes": ("pendingBytes",),
    "pending_unknown": ("pendingUnknown",),  # why the pending count is null: spool/ could not be read
    "leased": ("leased",),
    "oldest": ("oldest",),
    "newest": ("newest",),
    "sender_running": ("senderRunning",),
    "backing_off": ("backingOff",),
    "next_attempt": ("nextAttempt",),
    "consecutive_failures": ("consecutiveFailures",),
    "last_attempt": ("lastAttempt", "time"),
    "last_outcome": ("lastAttempt", "outcome"),
    "last_status": ("lastAttempt", "httpStatus"),
    "last_detail": ("lastAttempt", "detail"),
    "lost.expired": ("lost", "expired"),
    "lost.evicted": ("lost", "evicted"),
    "lost.opted_out": ("lost", "optedOut"),
    # the service refused these events: counted when it happened, the last ones kept in rejected/
    "lost.rejected": ("lost", "rejected", "count"),
    "rejected": ("lost", "rejected", "kept"),
    "rejected_bytes": ("lost", "rejected", "keptBytes"),
    "dropped.rejected": ("lost", "rejected", "removedByCap"),
    # unreadable files: counted when set aside, kept in quarantine/
    "lost.quarantined": ("lost", "quarantined", "count"),
    "quarantined": ("lost", "quarantined", "kept"),
    "quarantined_bytes": ("lost", "quarantined", "keptBytes"),
    "dropped.quarantine": ("lost", "quarantined", "removedByCap"),
    # sent, but without fields their spool file held (undocumented, or re-sanitized): not a loss
    "trimmed": ("trimmed",),
    "state_file_problem": ("stateFileProblem",),
    "now": ("now",),
}


def camel(name: str) -> str:
    """`last_attempt` -> `lastAttempt`; a name without underscores stays as it is."""
    head, *rest = str(name).split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def snake(name: str) -> str:
    """`lastAttempt` -> `last_attempt` (the inverse of `camel` for the report's names)."""
    return "".join("_" + c.lower() if c.isupper() else c for c in str(name))


def camel_keys(value: Any, keep: frozenset[str] = frozenset()) -> Any:
    """`value` with every mapping key camelCased, recursively; values under a key in `keep` pass untouched."""
    if isinstance(value, Mapping):
        return {camel(k): (v if k in keep else camel_keys(v, keep)) for k, v in value.items()}
    if isinstance(value, list):
        return [camel_keys(v, keep) for v in value]
    return value


def _flatten(doc: Mapping[str, Any]) -> dict[str, Any]:
    """Report keys with one level of nesting as dotted keys ("lost.rejected")."""
    flat: dict[str, Any] = {}
    for key, value in doc.items():
        if isinstance(value, Mapping) and any(k.startswith(key + ".") for k in STATUS_PATHS):
            for inner, item in value.items():
                flat[f"{key}.{inner}"] = item
        else:
            flat[key] = value
    return flat


def status_to_az(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The status report in az's names."""
    result: dict[str, Any] = {}
    for key, value in _flatten(doc).items():
        path = STATUS_PATHS.get(key) or tuple(camel(part) for part in key.split("."))
        if not _place(result, path, camel_keys(value)):  # a new report key that collides: kept flat, never lost
            name = camel(key.replace(".", "_"))
            while name in result:
                name += "Value"
            result[name] = camel_keys(value)
    return result


def _place(result: dict[str, Any], path: tuple[str, ...], value: Any) -> bool:
    """Put `value` at `path`, unless that would overwrite another value or an object."""
    node = result
    for part in path[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            return False
        node = child
    if path[-1] in node:
        return False
    node[path[-1]] = value
    return True


def status_from_az(result: Mapping[str, Any]) -> dict[str, Any]:
    """The az status document back in the report's names, for the shared table renderer."""
    known = {path: key for key, path in STATUS_PATHS.items()}
    doc: dict[str, Any] = {}

    def walk(node: Mapping[str, Any], prefix: tuple[str, ...]) -> None:
        for name, value in node.items():
            path = prefix + (name,)
            key = known.get(path)
            if key is None and isinstance(value, Mapping) and any(p[: len(path)] == path for p in known):
                walk(value, path)
                continue
            key = key or ".".join(snake(p) for p in path)
            outer, _, inner = key.partition(".")
            if inner:
                doc.setdefault(outer, {})[inner] = value
            else:
                doc[key] = value

    walk(result, ())
    return doc


def show_item_to_az(item: Mapping[str, Any]) -> dict[str, Any]:
    """One `show` item in az's names; the envelope stays exactly as it will be sent."""
    return camel_keys(item, keep=frozenset({"envelope"}))


def show_item_from_az(item: Mapping[str, Any]) -> dict[str, Any]:
    """One az `show` item back in the report's names, for the shared table renderer."""
    return {snake(k): v for k, v in item.items()}


def report_to_az(report: Mapping[str, Any]) -> dict[str, Any]:
    """A flush or purge result in az's names."""
    return camel_keys(report)
