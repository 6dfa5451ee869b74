#!/usr/bin/env python3
"""The dashboard in a real browser: headless Chromium (Debian's) driven by Playwright.

Run by `tests/dashboard_browser.rs`, which starts the target and passes its URL. This script:

1. starts `perfloop load TARGET --serve 127.0.0.1:0` and reads the dashboard's address from
   its standard error;
2. reads `/api/live` as a second client while the run goes (the samples arrive, one a second,
   then `end`) and parses `/metrics` with the Prometheus client library's own parser;
3. opens the live page and checks that its throughput chart gains points while the run goes,
   that it says `ended` at the end and links the saved run;
4. finds the run in the runs list, opens its page and a comparison with a second run, and
   checks that their charts are drawn (uPlot canvases with points);
5. opens the pages of a run tagged with markup and checks that no script of it ran;
6. fails on any error the pages log (a Content-Security-Policy violation among them).

Screenshots of each page go to `--out`. Every check that fails ends the script with a message
saying what was expected and what was seen; exit 0 only when all held.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.request

from playwright.sync_api import sync_playwright
from prometheus_client.parser import text_string_to_metric_families

CHROMIUM_ARGS = [
    "--no-sandbox", "--headless", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
XSS_TAG = "<script>window.__xss=1</script><img src=x onerror=\"window.__xss=2\">"


def fail(message):
    sys.exit(f"dashboard check failed: {message}")


def check(condition, message):
    if not condition:
        fail(message)


def start_load(args, extra, seconds):
    """Starts a load with the dashboard; returns the process and the dashboard's base URL."""
    argv = [args.perfloop, "load", args.target, "-c", "4", "-d", f"{seconds}s", "-q",
            "--store", args.store, "--serve", "127.0.0.1:0", "--serve-linger", "120s", *extra]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        seen.append(line)
        match = re.search(r"dashboard:?\s+(http://\S+)", line)
        if match:
            threading.Thread(target=proc.stderr.read, daemon=True).start()
            return proc, match.group(1).rstrip("/")
    proc.kill()
    fail(f"no dashboard address on perfloop's stderr: {''.join(seen)!r}")


def run_load(args, extra):
    """A plain saved run without the dashboard; returns its id from the store."""
    out = subprocess.run([args.perfloop, "load", args.target, "-c", "4", "-d", "2s", "-q",
                          "--store", args.store, "--json", "-", *extra],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    check(out.returncode == 0, f"perfloop load exited {out.returncode}: {out.stderr}")
    match = re.search(r"saved as run (\d+)", out.stderr)
    check(match, f"perfloop load did not say where it saved the run: {out.stderr!r}")
    return int(match.group(1))


class LiveReader(threading.Thread):
    """Reads `/api/live` as a second client: the events in the order they came."""

    def __init__(self, base):
        super().__init__(daemon=True)
        self.base = base
        self.events = []
        self.error = None

    def run(self):
        try:
            with urllib.request.urlopen(f"{self.base}/api/live", timeout=60) as stream:
                event = None
                for raw in stream:
                    line = raw.decode().rstrip("\n")
                    if line.startswith("event:"):
                        event = line.split(":", 1)[1].strip()
                    elif line.startswith("data:") and event:
                        data = json.loads(line.split(":", 1)[1])
                        self.events.append((time.monotonic(), event, data))
                        if event == "end":
                            return
                        event = None
        except Exception as e:  # noqa: BLE001 - reported by the main thread
            self.error = repr(e)


def check_metrics(base):
    with urllib.request.urlopen(f"{base}/metrics", timeout=10) as response:
        text = response.read().decode()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    for name in ["perfloop_requests", "perfloop_request_duration_seconds",
                 "perfloop_requests_in_flight", "perfloop_generator_saturated"]:
        check(name in families, f"/metrics lacks {name}: {sorted(families)}")
    check(families["perfloop_request_duration_seconds"].type == "histogram",
          "perfloop_request_duration_seconds is not a histogram")
    total = sum(s.value for s in families["perfloop_requests"].samples
                if s.name == "perfloop_requests_total")
    check(total > 0, f"/metrics counts no requests: {text[:2000]}")
    return total


def chart_points(page, selector):
    value = page.get_attribute(selector, "data-points")
    return int(value) if value and value.isdigit() else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--perfloop", required=True)
    ap.add_argument("--target", required=True)
    ap.add_argument("--store", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)

    baseline = run_load(args, ["--tag", "side=a"])
    marked = run_load(args, ["--tag", f"note={XSS_TAG}"])

    proc, base = start_load(args, ["--tag", "side=b"], seconds=8)
    try:
        reader = LiveReader(base)
        reader.start()
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            problems = []
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.on("response", lambda r: problems.append(f"{r.status} for {r.url}")
                    if r.status >= 400 else None)
            page.on("dialog", lambda d: (problems.append(f"dialog: {d.message}"), d.dismiss()))

            # The live page: the chart grows while the run goes.
            page.goto(f"{base}/")
            page.wait_for_selector("#chart-throughput canvas", timeout=15000)
            page.wait_for_function(
                "() => +document.querySelector('#chart-throughput').dataset.points >= 2",
                timeout=15000)
            first = chart_points(page, "#chart-throughput")
            metrics_total = check_metrics(base)
            page.wait_for_function(
                f"() => +document.querySelector('#chart-throughput').dataset.points > {first}",
                timeout=10000)
            grown = chart_points(page, "#chart-throughput")
            page.screenshot(path=os.path.join(args.out, "live-running.png"), full_page=True)
            page.wait_for_function(
                "() => document.querySelector('#live-status').textContent.trim() === 'ended'",
                timeout=30000)
            link = page.get_attribute("#run-link", "href")
            check(link and re.fullmatch(r"/runs/\d+", link), f"the ended live page links {link!r}")
            live_id = int(link.rsplit("/", 1)[1])
            page.screenshot(path=os.path.join(args.out, "live-ended.png"), full_page=True)

            # The second client saw the samples as they came, then the end with the run's id.
            reader.join(timeout=15)
            check(reader.error is None, f"/api/live failed: {reader.error}")
            kinds = [e for _, e, _ in reader.events]
            samples = [(t, d) for t, e, d in reader.events if e == "sample"]
            check(len(samples) >= 6, f"/api/live sent {len(samples)} samples for an 8 s run")
            spread = samples[-1][0] - samples[0][0]
            check(spread >= 3, f"the samples arrived all at once ({spread:.2f} s apart), not live")
            check(kinds[-1] == "end", f"/api/live did not end with `end`: {kinds[-5:]}")
            check(reader.events[-1][2].get("run_id") == live_id,
                  f"`end` names run {reader.events[-1][2]} but the page links {live_id}")

            # The run is in the list, and its page draws its charts.
            page.goto(f"{base}/runs")
            page.wait_for_selector(f"tr[data-run-id='{live_id}']", timeout=10000)
            page.screenshot(path=os.path.join(args.out, "runs.png"), full_page=True)
            page.goto(f"{base}/runs/{live_id}")
            page.wait_for_selector(".chart canvas", timeout=15000)
            page.wait_for_function(
                "() => [...document.querySelectorAll('.chart')].some(c => +c.dataset.points > 0)",
                timeout=15000)
            charts = page.eval_on_selector_all(".chart canvas", "cs => cs.length")
            check(charts >= 3, f"the run page draws {charts} charts")
            page.screenshot(path=os.path.join(args.out, "run.png"), full_page=True)

            # The comparison of the two runs: charts overlaid and the verdicts.
            page.goto(f"{base}/compare/{baseline}/{live_id}")
            page.wait_for_selector(".chart canvas", timeout=15000)
            page.wait_for_function(
                "() => [...document.querySelectorAll('.chart')].some(c => +c.dataset.points > 0)",
                timeout=15000)
            verdicts = page.eval_on_selector_all("#verdicts tr", "rows => rows.length")
            check(verdicts >= 3, f"the compare page shows {verdicts} rows of verdicts")
            page.screenshot(path=os.path.join(args.out, "compare.png"), full_page=True)

            # Markup in a tag is shown as text, never run.
            for path in ["/runs", f"/runs/{marked}"]:
                page.goto(f"{base}{path}")
                page.wait_for_load_state("networkidle")
                ran = page.evaluate("() => window.__xss")
                check(ran is None, f"a tag's markup ran as script on {path} (window.__xss={ran})")
                check("<script>window.__xss=1</script>" in page.inner_text("body"),
                      f"{path} does not show the tag's text as written")
            page.screenshot(path=os.path.join(args.out, "escaped.png"), full_page=True)

            browser.close()
            check(not problems, f"the pages logged errors: {problems}")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    print(json.dumps({"live_points": [first, grown], "samples": len(samples),
                      "metrics_requests_total": metrics_total, "run": live_id,
                      "baseline": baseline, "charts": charts, "verdicts": verdicts}))


if __name__ == "__main__":
    main()
