"""Delivers spooled telemetry envelopes to Application Insights, out of the user's process.

Importable by the recorder inside az: this package's top level and the modules the
recorder uses (layout, spool, lock, state, connection_string, optout) import nothing heavy.
"""
