#!/usr/bin/env python3
"""What the live dashboard costs the load generator, measured against nginx on loopback.

1. CPU per request: `perfloop load` at its full rate (closed model, 64 connections, one thread
   pinned to core 0) without `--serve`, and with `--serve` and one browser (headless Chromium,
   driven by Playwright, showing the live page) connected, run alternately (A B B A A B ...) on a
   shared, noisy machine: the figure is the median ratio of the pairs, never an absolute time.
   nginx (one worker) and the browser run on the last core, so neither takes the generator's.
2. Memory over a long run: two `perfloop load --rate 2000` runs side by side for `--long`
   seconds (10 minutes by default), one with `--serve` and a client reading `/api/live` all
   along, one without; each one's resident memory is sampled every 10 s from /proc. The run's
   own record grows with its length (a summary row and histogram per second, by design); the
   difference between the two is what the dashboard holds, and it must stay flat.

CPU = user + sys of the perfloop process (rusage of the child) / requests it completed.

Usage: bench/serve.py [--perfloop target/release/perfloop] [--secs 10] [--rounds 5]
                      [--long 600] [--only cpu,memory]
Needs nginx, taskset, python3 with playwright, and /usr/bin/chromium.
"""
import argparse, json, os, re, resource, statistics, subprocess, sys, tempfile, threading, time
import urllib.request

CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def last_core():
    return str((os.cpu_count() or 1) - 1)


def start_nginx(workdir, port):
    conf = os.path.join(workdir, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"""worker_processes 1; pid {workdir}/nginx.pid; error_log {workdir}/error.log;
events {{ worker_connections 4096; }}
http {{ access_log off; keepalive_requests 1000000;
  server {{ listen 127.0.0.1:{port}; location / {{ return 200 "hello world\\n"; }} }} }}
""")
    subprocess.run(["taskset", "-c", last_core(), "nginx", "-c", conf], check=True)
    for _ in range(50):
        if os.path.exists(os.path.join(workdir, "nginx.pid")):
            return
        time.sleep(0.1)
    sys.exit("nginx did not start")


def dashboard_address(proc):
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        m = re.search(r"dashboard:?\s+(http://\S+)", line)
        if m:
            threading.Thread(target=proc.stderr.read, daemon=True).start()
            return m.group(1).rstrip("/")
    sys.exit("perfloop printed no dashboard address")


def one_run(args, url, json_path, serve, browser):
    """One run; returns CPU µs per request of the perfloop process."""
    argv = ["taskset", "-c", "0", args.perfloop, "load", url, "-c", "64", "--threads", "1",
            "-d", f"{args.secs}s", "--warmup", "1s", "-q", "--no-save", "--json", json_path]
    if serve:
        argv += ["--serve", "127.0.0.1:0"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    page = None
    if serve:
        base = dashboard_address(proc)
        page = browser.new_page()
        page.goto(f"{base}/")
    proc.wait()
    if page is not None:
        page.close()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 1):
        sys.exit(f"perfloop load exited {proc.returncode}")
    with open(json_path) as f:
        record = json.load(f)
    # taskset execs perfloop, so the child's rusage is perfloop's own.
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return 1e6 * cpu / record["requests"]["ok"]


def cpu_cost(args, url, workdir):
    from playwright.sync_api import sync_playwright
    json_path = os.path.join(workdir, "run.json")
    pairs = []
    with sync_playwright() as pw:
        # The browser runs beside nginx, off the generator's core.
        os.sched_setaffinity(0, {int(last_core())})
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
        for k in range(args.rounds):
            # Which goes first alternates too: the second run of a pair meets a warmer nginx.
            if k % 2 == 0:
                without = one_run(args, url, json_path, False, browser)
                with_serve = one_run(args, url, json_path, True, browser)
            else:
                with_serve = one_run(args, url, json_path, True, browser)
                without = one_run(args, url, json_path, False, browser)
            pairs.append((without, with_serve))
            print(f"  round: without {without:.2f} µs, with --serve and a browser "
                  f"{with_serve:.2f} µs per request", flush=True)
        browser.close()
    ratio = statistics.median(w / wo for wo, w in pairs)
    print("CPU per request at full rate (64 connections, one core)")
    print(f"  without --serve          {statistics.median(p[0] for p in pairs):8.2f} µs")
    print(f"  with --serve + browser   {statistics.median(p[1] for p in pairs):8.2f} µs")
    print(f"  ratio: {ratio:.3f} (median of {args.rounds} alternated pairs; goal <= 1.02)")


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def memory(args, url):
    """Two runs side by side at the same rate: one with --serve and a client reading /api/live
    all along, one without; the difference of their growth is what the dashboard holds."""
    common = ["load", url, "--rate", "2000", "--threads", "1", "-d", f"{args.long}s", "-q",
              "--no-save"]
    served = subprocess.Popen([args.perfloop, *common, "--serve", "127.0.0.1:0"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    plain = subprocess.Popen([args.perfloop, *common], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    base = dashboard_address(served)
    events = {"n": 0}

    def read_live():
        with urllib.request.urlopen(f"{base}/api/live", timeout=args.long + 60) as stream:
            for line in stream:
                if line.startswith(b"event: sample"):
                    events["n"] += 1

    threading.Thread(target=read_live, daemon=True).start()
    samples = []
    start = time.monotonic()
    while served.poll() is None and plain.poll() is None:
        samples.append((time.monotonic() - start, rss_kib(served.pid), rss_kib(plain.pid)))
        time.sleep(10)
    served.wait()
    plain.wait()
    print(f"Memory over a {args.long} s run at 2,000 req/s ({events['n']} samples streamed)")
    print("       time   with --serve and a client   without")
    for t, a, b in samples:
        if int(t) % 60 < 10:
            print(f"  {t:7.0f} s  {a / 1024:14.1f} MiB  {b / 1024:14.1f} MiB")
    first = next((x for x in samples if x[0] >= 60), samples[0])
    last = samples[-1]
    grow_a, grow_b = (last[1] - first[1]) / 1024, (last[2] - first[2]) / 1024
    print(f"  growth after the first minute: with --serve {grow_a:+.1f} MiB, without "
          f"{grow_b:+.1f} MiB; the dashboard's part {grow_a - grow_b:+.1f} MiB")
    later = next((x for x in samples if x[0] >= 300), first)
    print(f"  after five minutes: with --serve {(last[1] - later[1]) / 1024:+.1f} MiB, without "
          f"{(last[2] - later[2]) / 1024:+.1f} MiB")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--perfloop", default="target/release/perfloop")
    ap.add_argument("--secs", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--long", type=int, default=600)
    ap.add_argument("--only", default="cpu,memory")
    args = ap.parse_args()
    only = args.only.split(",")
    with tempfile.TemporaryDirectory() as workdir:
        port = 18000 + os.getpid() % 1000
        start_nginx(workdir, port)
        url = f"http://127.0.0.1:{port}/"
        try:
            if "cpu" in only:
                cpu_cost(args, url, workdir)
            if "memory" in only:
                memory(args, url)
        finally:
            with open(os.path.join(workdir, "nginx.pid")) as f:
                subprocess.run(["kill", f.read().strip()])


if __name__ == "__main__":
    main()
