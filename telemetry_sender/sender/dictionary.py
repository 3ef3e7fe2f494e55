"""The drain's hook for the data dictionary: a claimed envelope leaves only as TELEMETRY.md lists it.

spool/envelope.py owns the rule (`project_envelope`, pure); this adds the sender's side
effects: a file that is no event is Unsendable (the drain quarantines it), and what was
dropped is named in the sender log, never with a value; whether the event was trimmed is
returned for the drain's tally (DrainReport.trim, saved in state.json, shown by `status`).
"""

from __future__ import annotations

import logging
from typing import Any

from telemetry_sender.spool.envelope import project_envelope
from telemetry_sender.spool.store import Unsendable
from telemetry_sender.text import printable

logger = logging.getLogger(__name__)


# Routing, not content: an event recorded under an earlier connection string goes with the configured key.
_ROUTING = frozenset({"iKey"})


def enforce_dictionary(envelope: object, instrumentation_key: str, name: str) -> tuple[dict[str, Any], bool]:
    """The envelope cut to the data dictionary, with the configured key, and whether any of the file's
    content was cut (undocumented fields dropped, values replaced or re-sanitized); Unsendable when the
    file's value is no envelope, or no event of ours."""
    projection = project_envelope(envelope, instrumentation_key=instrumentation_key)
    if projection.envelope is None:
        raise Unsendable(projection.reason)
    if projection.dropped:
        logger.warning("%s: %d undocumented or reshaped field(s) not sent as stored: %s", printable(name),
                       len(projection.dropped), ", ".join(projection.dropped))
    return projection.envelope, any(field not in _ROUTING for field in projection.dropped)
