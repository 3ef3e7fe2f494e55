"""`python -m telemetry_sender send|status|show|purge|emulate`: works without az."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """Dispatch to the subcommand's module, importing only what that subcommand needs."""
    from telemetry_sender.cli import run

    return run(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    sys.exit(main())
