"""Sanitizers (placeholder until the recorder lands)."""


def sanitize_parameters(params):
    return {}


def sanitize_error(text):
    return ""
