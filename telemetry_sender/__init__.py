"""Delivers spooled telemetry envelopes to Application Insights, out of the user's process.

The wings: `spool/` (the on-disk contract; standard library only, the recorder imports
parts of it inside az), `sender/` (the detached process; the only wing that imports
`requests`), `support/` (status, show, purge), `emulator/` (a local ingestion endpoint),
`privacy/` (the sanitizing rules both processes apply; standard library only).
"""

# The distribution's one version (the extension reports it too); setup.py reads it as text.
VERSION = "0.1.0"
