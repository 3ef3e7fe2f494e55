"""The privacy wing: what judges free text, and the sender's second look before it sends.

Standard library only; nothing here imports another wing. Built on the floor's
`telemetry_sender.rules` (names and values judged by shape, and the parameters sanitizer:
run on every recorded command, so it sits below this package, which a command that
succeeds never imports): `scrub` (typed detection in free text), `vocabulary` (the shipped
word list, loaded only when a command failed), `allowlist` and `errors` (the error-text
sanitizer), `recheck` (the sender's second look at properties on the way out).
"""
