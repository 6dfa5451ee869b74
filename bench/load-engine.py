#!/usr/bin/env python3
"""Benchmark of perfloop's load engine against wrk, on nginx over loopback, in one run.

Three figures, each measured here and now (the machine is shared and noisy, so the
comparison is a ratio between peers run alternately, never an absolute time):

1. CPU per request, closed model, HTTP/1.1 keep-alive: wrk and `perfloop load` run in
   turn (A B A B ...), each pinned to core 0 with nginx (one worker) pinned to the last
   core. CPU = user + sys of the generator process (rusage of the child) / requests.
   Prints the median per tool and the median of the per-round ratios perfloop/wrk.
2. Open-model rate accuracy: `perfloop load --rate R` (default 20000/s); prints the
   achieved rate against the asked one, the scheduling lag p50/p99/max and dropped requests.
3. Memory: peak RSS (ru_maxrss) of a full-speed closed run of --rss-secs seconds
   (default 60; 0 skips it).

Usage: bench/load-engine.py [--perfloop target/release/perfloop] [--conns 64] [--secs 5]
                            [--rounds 3] [--rate 20000] [--rss-secs 60]
Needs nginx and wrk (apt-get install nginx wrk).
"""
import argparse, json, os, re, resource, shutil, statistics, subprocess, sys, tempfile, time


def child_run(argv):
    """Run argv; return (stdout, cpu seconds, peak RSS in MiB) of the child."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode not in (0, 1):
        sys.exit(f"{argv[0]} failed ({p.returncode}): {p.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return p.stdout, cpu, after.ru_maxrss / 1024.0


def start_nginx(workdir, port):
    conf = os.path.join(workdir, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"""worker_processes 1; pid {workdir}/nginx.pid; error_log {workdir}/error.log;
events {{ worker_connections 16384; }}
http {{ access_log off; keepalive_requests 1000000;
  server {{ listen 127.0.0.1:{port}; location / {{ return 200 "hello world\\n"; }} }} }}
""")
    last = str((os.cpu_count() or 1) - 1)
    subprocess.run(["taskset", "-c", last, "nginx", "-c", conf], check=True)
    for _ in range(50):
        if os.path.exists(os.path.join(workdir, "nginx.pid")):
            break
        time.sleep(0.1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--perfloop", default="target/release/perfloop")
    ap.add_argument("--conns", type=int, default=64)
    ap.add_argument("--secs", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--rate", type=int, default=20000)
    ap.add_argument("--rss-secs", type=int, default=60)
    a = ap.parse_args()
    for tool in ("nginx", "wrk", "taskset"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is needed: apt-get install nginx wrk")
    work = tempfile.mkdtemp(prefix="perfloop-bench")
    port = 19000 + os.getpid() % 1000
    url = f"http://127.0.0.1:{port}/"
    start_nginx(work, port)
    jf = os.path.join(work, "run.json")
    pin = ["taskset", "-c", "0"]
    try:
        res = {"wrk": [], "perfloop": []}
        for _ in range(a.rounds):
            out, cpu, _ = child_run(pin + ["wrk", "-t1", f"-c{a.conns}", f"-d{a.secs}s", url])
            n = int(re.search(r"(\d+) requests in", out).group(1))
            res["wrk"].append((n / a.secs, cpu * 1e6 / n))
            _, cpu, _ = child_run(pin + [a.perfloop, "load", url, "-c", str(a.conns), "-d", f"{a.secs}s",
                                         "--json", jf, "-q"])
            n = json.load(open(jf))["requests"]["total"]
            res["perfloop"].append((n / a.secs, cpu * 1e6 / n))
        print(f"== closed model, {a.conns} connections, {a.secs} s x {a.rounds} rounds, generator on core 0")
        for k, v in res.items():
            print(f"{k:9s} rps median {statistics.median(x[0] for x in v):10.0f}   "
                  f"CPU us/request median {statistics.median(x[1] for x in v):6.2f}")
        ratios = [p[1] / w[1] for p, w in zip(res["perfloop"], res["wrk"])]
        print(f"CPU per request, perfloop/wrk, median of rounds: {statistics.median(ratios):.3f} "
              f"(rounds: {', '.join(f'{r:.3f}' for r in ratios)})")

        _, cpu, _ = child_run([a.perfloop, "load", url, "--rate", str(a.rate), "-d", f"{a.secs}s",
                               "--json", jf, "-q"])
        rec = json.load(open(jf))
        om = rec["open_model"]
        err = (om["achieved_rate"] / om["asked_rate"] - 1) * 100
        print(f"== open model, --rate {a.rate}, {a.secs} s")
        print(f"asked {om['asked_rate']:.0f}/s  achieved {om['achieved_rate']:.1f}/s  ({err:+.2f} %)  "
              f"lag p50 {om['lag_ms']['p50'] * 1000:.0f} us  p99 {om['lag_ms']['p99'] * 1000:.0f} us  "
              f"max {om['lag_ms']['max'] * 1000:.0f} us  dropped {rec['requests']['dropped']}  "
              f"CPU us/request {cpu * 1e6 / max(1, rec['requests']['total']):.2f}")

        if a.rss_secs > 0:
            _, _, rss = child_run([a.perfloop, "load", url, "-c", str(a.conns), "-d", f"{a.rss_secs}s",
                                   "--json", jf, "-q"])
            total = json.load(open(jf))["requests"]["total"]
            print(f"== memory: {a.rss_secs} s full-speed closed run, {total} requests: peak RSS {rss:.1f} MiB")
    finally:
        with open(os.path.join(work, "nginx.pid")) as f:
            subprocess.run(["kill", f.read().strip()])


main()
