"""Delivers spooled telemetry envelopes to Application Insights, out of the user's process.

The floor: `recording` (what the recorder inside az needs from this package, loaded with
the extension; every wing imports these rules from it), `rules` (the privacy rules a
recorded command runs and the sender runs again) and `spawn` (starting the sender).
The wings: `spool/` (the on-disk contract the sender and the support tools share),
`sender/` (the detached process; the only wing that imports `requests`), `support/`
(status, show, purge), `emulator/` (a local ingestion endpoint), `privacy/` (the
error-text sanitizer and the sender's second look, built on `rules`; standard library only).
"""

# The distribution's one version (the extension reports it too); setup.py reads it as text.
VERSION = "0.1.0"
