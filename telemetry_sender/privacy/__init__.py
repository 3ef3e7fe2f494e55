"""The privacy rules both processes apply: the recorder when it records, the sender before it sends.

Standard library only, at the bottom of the house (nothing here imports another wing):
`rules` (names and values judged by shape, and the parameters sanitizer: run on every
command), `scrub` (typed detection in free text), `vocabulary` (the shipped
word list, loaded only when a command failed), `allowlist` and `errors` (the error-text
sanitizer), `recheck` (the sender's second look at properties on the way out).
"""
