"""Argument parsing for `python -m telemetry_sender`; each subcommand lives in its own module."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from typing import Callable

from telemetry_sender.spool.layout import SpoolLayout


def _spool_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--spool",
        metavar="DIR",
        help="spool root (or its spool/ folder); default: <az config dir>/prototype/telemetry",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def build_parser() -> argparse.ArgumentParser:
    """The whole command line, so `--help` documents every subcommand."""
    parser = argparse.ArgumentParser(
        prog="python -m telemetry_sender",
        description="Send, inspect and emulate az prototype telemetry. Works without az.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    send = sub.add_parser("send", help="deliver pending events now (ignores backoff when run by a person)")
    _spool_option(send)
    send.add_argument("--background", action="store_true", help=argparse.SUPPRESS)
    send.add_argument("--lock-fd", dest="lock_fd", type=int, help=argparse.SUPPRESS)  # the lock the spawner took

    status = sub.add_parser("status", help="whether telemetry is on, what is pending, what was lost")
    _spool_option(status)

    show = sub.add_parser("show", help="the pending events, exactly as they will be sent")
    _spool_option(show)
    show.add_argument("--last", type=int, metavar="N", help="only the N most recent")
    show.add_argument("--command", dest="command_name", metavar="NAME",
                      help="only events of this command (e.g. 'prototype init')")
    show.add_argument("--failed", action="store_true", help="only events of failed commands")
    show.add_argument("--all", action="store_true", help="also dead-lettered and quarantined files")
    show.add_argument("--file", metavar="NAME",
                      help="print this one file in full (pending, dead letter or quarantined)")

    purge = sub.add_parser("purge", help="delete pending events without sending them")
    _spool_option(purge)
    purge.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    purge.add_argument("--all", action="store_true", help="also empty rejected/ and quarantine/")

    emulate = sub.add_parser("emulate", help="run a local ingestion endpoint on 127.0.0.1")
    emulate.add_argument("--port", type=int, default=8787, help="port to listen on (0: any free port)")
    emulate.add_argument("--script", metavar="FILE", help="JSON file scripting the responses (see README)")
    emulate.add_argument("--record", metavar="FILE", help="append every received item to this JSON-lines file")
    emulate.add_argument("--ikey", metavar="KEY", help="the only instrumentation key to accept (default: any)")
    emulate.add_argument("--quiet", action="store_true", help="do not print accepted events")
    return parser


def _layout(args: argparse.Namespace) -> SpoolLayout:
    return SpoolLayout.from_arg(args.spool) if getattr(args, "spool", None) else SpoolLayout.default()


def _handler(name: str) -> Callable[[argparse.Namespace, SpoolLayout], int]:
    if name == "send":
        from telemetry_sender.sender.command import command_send as handler
    elif name == "emulate":
        from telemetry_sender.emulator.server import command_emulate as handler
    else:
        from telemetry_sender.support import command as support

        handler = {"status": support.command_status, "show": support.command_show, "purge": support.command_purge}[name]
    return handler


EXIT_INTERRUPTED = 128 + signal.SIGINT  # 130: what a shell reports for Ctrl-C
EXIT_BROKEN_PIPE = 128 + getattr(signal, "SIGPIPE", 13)  # 141: the reader of our output went away (`| head`)


def run(argv: list[str]) -> int:
    """Parse, dispatch, and turn the outcome into an exit code; Ctrl-C and a closed pipe end quietly."""
    args = build_parser().parse_args(argv)
    try:
        code = _handler(args.command)(args, _layout(args))
        sys.stdout.flush()
        return code
    except KeyboardInterrupt:
        sys.stderr.write("\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE


def _silence_stdout() -> None:
    """Point stdout at devnull so the interpreter's final flush does not raise again (Python docs, SIGPIPE)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass
