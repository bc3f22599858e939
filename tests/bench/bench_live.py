"""Requests a Status page makes while it stays open (on demand:
`python tests/bench/bench_live.py`; pytest ignores it).

The Status page used to poll: its Doors card every 2 s and its Device info every 10 s,
36 requests a minute per open browser, each a full request through the session check.
Now its panels come over one Server-Sent Events stream that the server writes to when
a door changes. This serves the real appliance, opens its Status page in Chromium for
BENCH_SECONDS (60), changes the door every 10 s over the API (each change must show on
the page), and prints the requests the page made per minute, next to the 70 that the
polling page made (measured the same way).
"""

from gevent import monkey

monkey.patch_all()

import os  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from support import CHROMIUM, log_in, start_set_up  # noqa: E402

SECONDS = float(os.environ.get("BENCH_SECONDS", "60"))
# Measured with this script on the polling page (2026-12-02): 36 polls (the Doors card
# every 2 s, Device info every 10 s) and 34 revalidations of the icon sprite that each
# swapped-in card asked for.
POLLING_PER_MINUTE = 70
CHANGES = ("unlock", "lock")


def main() -> None:
    from playwright.sync_api import expect, sync_playwright

    server = start_set_up(Path(tempfile.mkdtemp()) / "data")
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=["--no-sandbox", "--disable-background-networking"]
            )
            page = browser.new_page()
            log_in(page, server.url)
            page.wait_for_load_state("networkidle")
            requests: list[str] = []
            page.on("request", lambda request: requests.append(request.url))
            started, changes = time.monotonic(), 0
            while time.monotonic() - started < SECONDS:
                action = CHANGES[changes % 2]
                server.call("POST", f"/api/v1/doors/1/{action}")
                mode = "unlocked" if action == "unlock" else "locked"
                expect(page.locator(f"[data-door='1'][data-mode={mode}]")).to_be_visible()
                changes += 1
                page.wait_for_timeout(min(10_000, 1000 * (SECONDS - (time.monotonic() - started))))
            elapsed = time.monotonic() - started
            browser.close()
    finally:
        server.stop()
    per_minute = len(requests) * 60 / elapsed
    print(f"Status page open {elapsed:.0f} s, door changed {changes} times, each shown live")
    print("| page | requests per minute | ratio to polling |")
    print("| --- | --- | --- |")
    print(f"| polling (before) | {POLLING_PER_MINUTE:.0f} | 1.00 |")
    print(f"| SSE (now) | {per_minute:.1f} | {per_minute / POLLING_PER_MINUTE:.2f} |")
    print("requests seen:", sorted(set(u.split("?")[0].removeprefix(server.url) for u in requests)))


if __name__ == "__main__":
    main()
