"""The few names the recorder's parts share (track, record, notice), in a module that imports nothing.

Loaded with the extension by track.py, so record.py and notice.py take these from here
instead of importing each other or the decorator.
"""

import logging

# The telemetry story's logger: az shows loggers under "cli." with --debug (knack.log.get_logger
# adds the same prefix); logging.getLogger imports nothing.
logger = logging.getLogger("cli.azext_prototype.telemetry")
# Set (to an az boolean) for one run: the recorder also echoes each envelope to stderr.
DEBUG_ENV_VAR = "AZ_PROTOTYPE_TELEMETRY_DEBUG"
# <az config dir>/prototype/<this>: made when the first-use notice was shown (notice.py).
NOTICE_MARKER = "telemetry-notice-shown"
