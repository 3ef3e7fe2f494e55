"""`make demo`: the whole telemetry story with the real az, on loopback only.

Installs the extension wheel into a throwaway az config, starts the project's own
ingestion endpoint, runs real commands (online, then offline, then back online),
and shows what arrived. Cleans up its processes and folders at the end.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
AZ = str(VENV_BIN / "az")
DEMO_IKEY = "00000000-0000-4000-8000-0000000000de"
DOCUMENTED_FIELDS = (
    "tenantId", "projectId", "commandName", "parameters", "provider", "model", "resourceType",
    "location", "sku", "extensionVersion", "success", "error", "timestamp",
)


def say(text: str) -> None:
    print(text, flush=True)


def wait_until(predicate, timeout: float, interval: float = 0.05) -> bool:
    """Poll `predicate` until it is true or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


class Endpoint:
    """The local ingestion endpoint as a separate process, so it can go down and come back."""

    def __init__(self, record: Path, port: int = 0) -> None:
        self.record, self.port, self.proc = record, port, None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "telemetry_sender", "emulate", "--port", str(self.port),
             "--ikey", DEMO_IKEY, "--record", str(self.record), "--quiet"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=REPO,
        )
        line = self.proc.stdout.readline()
        self.port = int(line.strip().rsplit(":", 1)[1].split("/")[0])

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def received(self) -> list[dict]:
        if not self.record.exists():
            return []
        items = []
        for line in self.record.read_text(encoding="utf-8").splitlines():
            entry = json.loads(line)
            if entry.get("status") == 200:
                items.append(entry["item"])
        return items


def run_az(env: dict, *args: str, cwd: Path, check: bool = True) -> tuple[subprocess.CompletedProcess, float]:
    started = time.monotonic()
    proc = subprocess.run([AZ, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120)
    elapsed = time.monotonic() - started
    if check and proc.returncode != 0:
        raise SystemExit(f"az {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
    return proc, elapsed


def build_wheel(out: Path) -> Path:
    """Build the wheel from a clean copy of the sources: a stale build/ in the checkout never leaks in."""
    source = out / "source"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for package in ("azext_prototype", "telemetry_sender"):
        shutil.copytree(REPO / package, source / package, ignore=ignore)
    for name in ("setup.py", "README.md"):
        shutil.copy2(REPO / name, source / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check", "--no-deps",
         "--no-build-isolation", "-w", str(out), str(source)],
        check=True, capture_output=True, cwd=out,
    )
    return next(out.glob("prototype-*.whl"))


def demo_env(tmp: Path, endpoint: Endpoint) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AZURE_", "APPLICATIONINSIGHTS_", "APPINSIGHTS_")) and k != "DO_NOT_TRACK"}
    env.update({
        "AZURE_CONFIG_DIR": str(tmp / "azure"),
        "AZURE_EXTENSION_DIR": str(tmp / "extensions"),
        "AZURE_CORE_NO_COLOR": "true",
        "AZURE_CORE_SURVEY_MESSAGE": "false",
        "AZURE_CORE_ONLY_SHOW_ERRORS": "true",
        # az's own telemetry would go to the internet: send it to a closed loopback port instead.
        "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9",
        "NO_PROXY": "127.0.0.1,localhost,::1",
        "APPLICATIONINSIGHTS_CONNECTION_STRING":
            f"InstrumentationKey={DEMO_IKEY};IngestionEndpoint=http://127.0.0.1:{endpoint.port}/",
    })
    return env


def pending(env: dict, work: Path) -> int:
    proc, _ = run_az(env, "prototype", "telemetry", "status", "-o", "json", cwd=work)
    return int(json.loads(proc.stdout)["pending"])


def table(items: list[dict]) -> list[str]:
    short = {"tenantId": 8, "projectId": 8, "parameters": 44, "error": 40}
    header = ["#", *DOCUMENTED_FIELDS]
    rows = []
    for n, item in enumerate(items, 1):
        props = item["data"]["baseData"]["properties"]
        row = [str(n)]
        for field in header[1:]:
            value = props.get(field, "—" if field == "error" else "MISSING")
            if field == "timestamp":
                value = value[11:19]  # the time of day is enough here
            row.append(value[: short.get(field, 24)] or "-")
        rows.append(row)
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]

    def fmt(r):
        return "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip()

    return [fmt(header)] + [fmt(r) for r in rows]


def main() -> int:
    tmp = Path(tempfile.mkdtemp(prefix="az-prototype-demo-"))
    endpoint = Endpoint(tmp / "received.jsonl")
    try:
        say("1. Building the extension wheel and installing it into a throwaway az config (real az) ...")
        wheel = build_wheel(tmp)
        endpoint.start()
        env = demo_env(tmp, endpoint)
        work = tmp / "work"
        work.mkdir()
        run_az(env, "extension", "add", "--source", str(wheel), "--yes", cwd=work)
        say(f"   installed {wheel.name}; local ingestion endpoint on http://127.0.0.1:{endpoint.port}")

        say("2. Online: init a project, show its status, change its config, and one command that fails")
        project = work / "demo-app"
        steps = [
            (("prototype", "init", "--name", "demo-app", "--location", "westus3", "--ai-provider", "azure-openai",
              "--iac-tool", "terraform"), work, True),
            (("prototype", "status"), project, True),
            (("prototype", "config", "set", "--key", "ai.model", "--value", "gpt-4.1"), project, True),
            (("prototype", "config", "get", "--key", "no.such.key"), project, False),
        ]
        for args, cwd, ok in steps:
            proc, secs = run_az(env, *args, cwd=cwd, check=ok)
            outcome = "ok" if proc.returncode == 0 else f"failed as expected (exit {proc.returncode})"
            say(f"   az {' '.join(args):<60} {outcome}, {secs:.2f} s")
        last_command_ended = time.monotonic()
        arrived = wait_until(lambda: len(endpoint.received()) >= 4, timeout=20)
        waited = time.monotonic() - last_command_ended
        say(f"   the endpoint had accepted {len(endpoint.received())} events {waited:.2f} s after the last command returned"
            + ("" if arrived else " (expected 4)"))

        say("3. Offline: the endpoint goes down; commands still return at once and their events wait")
        endpoint.stop()
        for _ in range(3):
            proc, secs = run_az(env, "prototype", "status", cwd=project)
            say(f"   az prototype status{'':<44} ok, {secs:.2f} s")
        say(f"   az prototype telemetry status: {pending(env, project)} events pending in the spool")

        say("4. Back online: the endpoint returns and a flush delivers everything that waited")
        endpoint.start()
        proc, _ = run_az(env, "prototype", "telemetry", "flush", "-o", "json", cwd=project, check=False)
        summary = json.loads(proc.stdout or "{}")
        say(f"   flush: sent {summary.get('sent')}, retried {summary.get('retried')}, "
            f"rejected {summary.get('rejected')}; pending now {pending(env, project)}")
        wait_until(lambda: len(endpoint.received()) >= 7, timeout=20)

        items = endpoint.received()
        ids = [i["data"]["baseData"]["properties"].get("eventId") for i in items]
        say(f"5. What the endpoint received: {len(items)} events, {len(set(ids))} distinct eventIds "
            f"(tenantId is empty: nobody is signed in to this throwaway config)")
        for line in table(items):
            say("   " + line)
        missing = sorted({f for i in items for f in DOCUMENTED_FIELDS
                          if f not in i["data"]["baseData"]["properties"] and f != "error"})
        say("   every documented field present" if not missing else f"   MISSING fields: {missing}")

        say("6. az prototype telemetry status (what a support engineer sees):")
        proc, _ = run_az(env, "prototype", "telemetry", "status", "-o", "table", cwd=project)
        for line in proc.stdout.strip().splitlines():
            say("   " + line)
        ok = arrived and len(items) >= 7 and len(set(ids)) == len(ids) and not missing
        say("Demo finished: " + ("every event arrived exactly once." if ok else "SOMETHING WENT WRONG (see above)."))
        return 0 if ok else 1
    finally:
        endpoint.stop()
        # A detached sender may still be finishing: let it exit before its folder goes.
        from telemetry_sender.spool.layout import SpoolLayout
        from telemetry_sender.spool.lock import is_held

        lock_file = SpoolLayout.default({"AZURE_CONFIG_DIR": str(tmp / "azure")}).lock_file
        wait_until(lambda: not is_held(lock_file), timeout=65)
        if "--keep" in sys.argv:
            say(f"(kept {tmp})")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
