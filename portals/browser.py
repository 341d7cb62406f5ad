"""Browser bootstrap: the one function that decides which Chromium runs."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

# Without these, Chromium phones home at start-up; this machine's closed network refuses it.
CHROMIUM_ARGS = (
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-gpu",
    "--no-sandbox",
)
DEBIAN_CHROMIUM = Path("/usr/bin/chromium")


class BrowserUnavailable(RuntimeError):
    """No Chromium could be found or installed."""


@dataclass(frozen=True)
class BrowserChoice:
    # "configured", "playwright" or "system".
    source: str
    # None means Playwright's own managed build.
    executable_path: str | None

    def launch_kwargs(self, headless: bool = True) -> dict:
        kwargs: dict = {"headless": headless, "args": list(CHROMIUM_ARGS)}
        if self.executable_path:
            kwargs["executable_path"] = self.executable_path
        return kwargs


def _playwright_managed() -> str | None:
    from playwright.sync_api import Error, sync_playwright

    try:
        with sync_playwright() as pw:
            path = pw.chromium.executable_path
    except Error:
        return None
    return path if path and Path(path).exists() else None


def _can_install_system() -> bool:
    return os.geteuid() == 0 and shutil.which("apt-get") is not None


def find_chromium(configured: str = "", *, install: bool = False) -> BrowserChoice:
    """Configured path, else Playwright's Chromium, else Debian's; optionally install one."""
    if configured:
        if not Path(configured).exists():
            raise BrowserUnavailable(f"configured browser {configured} does not exist")
        return BrowserChoice("configured", configured)
    if os.environ.get("PAYERFLEET_PREFER_SYSTEM_CHROMIUM") != "1" and _playwright_managed():
        return BrowserChoice("playwright", None)
    if DEBIAN_CHROMIUM.exists():
        return BrowserChoice("system", str(DEBIAN_CHROMIUM))
    if install:
        # The distribution's package first: its mirror answers or fails at once, while Playwright's
        # download retries each of its hosts (five attempts) on a machine without general internet.
        if _can_install_system():
            for step in (["apt-get", "install", "-y", "-qq", "chromium"], ["apt-get", "update", "-qq"],
                         ["apt-get", "install", "-y", "-qq", "chromium"]):
                subprocess.run(step, check=False)
                if DEBIAN_CHROMIUM.exists():
                    return BrowserChoice("system", str(DEBIAN_CHROMIUM))
        subprocess.run([sys.executable, "-m", "playwright", "install", "chromium"], check=False)
        if _playwright_managed():
            return BrowserChoice("playwright", None)
    raise BrowserUnavailable(
        "no Chromium: run `python -m playwright install chromium`, or as root `apt-get install -y chromium`"
    )
