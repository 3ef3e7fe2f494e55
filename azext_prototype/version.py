"""The extension's version, readable without importing az (setup.py and the recorder use it)."""

VERSION = "0.1.0"
