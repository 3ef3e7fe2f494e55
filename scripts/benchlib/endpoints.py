"""The four loopback endpoints every row uses: healthy, down (refused), hanging, throttling (429)."""

from __future__ import annotations

from dataclasses import dataclass

from telemetry_sender.emulator.server import Emulator

HANG_SECONDS = 120  # longer than any client timeout involved (requests 5 s, the sender's 10 s read timeout)
RETRY_AFTER_SECONDS = "120"
_FOREVER = 1_000_000


@dataclass
class Endpoints:
    """Running emulators; `down` was started once and stopped, so its port refuses connections."""

    healthy: Emulator
    down: Emulator
    hanging: Emulator
    throttling: Emulator

    @classmethod
    def start(cls) -> "Endpoints":
        """Start all four (and take `down` down)."""
        healthy = Emulator().start()
        down = Emulator().start()
        down.stop()
        hanging = Emulator(script=[{"hang": HANG_SECONDS, "repeat": _FOREVER}]).start()
        throttling = Emulator(script=[{"status": 429, "retry_after": RETRY_AFTER_SECONDS, "repeat": _FOREVER}]).start()
        return cls(healthy, down, hanging, throttling)

    def by_name(self, name: str) -> Emulator:
        """The emulator for a scenario name (off uses the healthy one: only the opt-out differs)."""
        return {"off": self.healthy, "healthy": self.healthy, "down": self.down,
                "hanging": self.hanging, "throttling": self.throttling}[name]  # fmt: skip

    def close(self) -> None:
        """Stop every server (releases hanging requests)."""
        for emu in (self.healthy, self.down, self.hanging, self.throttling):
            try:
                emu.close()
            except Exception:  # best effort at exit
                pass
