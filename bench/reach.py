#!/usr/bin/env python3
"""Benchmark of perfloop over TLS and HTTP/2 against its peers, on nginx over loopback.

Every figure is measured here and now, peers run alternately (A B A B ...) on a shared,
noisy machine, so the comparison is a ratio between peers, never an absolute time. Each
generator runs on one thread pinned to core 0; nginx (one worker, TLS and HTTP/2 on, a
self-signed certificate made here by openssl) is pinned to the last core.

1. HTTPS keep-alive, 64 connections: CPU µs per request, wrk against `perfloop load`.
2. HTTP/2, 64 connections x 10 streams: CPU µs per request, h2load -m 10 against
   `perfloop load --http2 --streams 10`.
3. A new TLS connection per request (64 at a time): handshakes per second and CPU µs per
   handshake, wrk with `Connection: close` against `perfloop load --no-keepalive`.
4. Scenario weights: a two-request scenario (weights 3 and 1) sent 100,000 times; the mix
   counted in nginx's access log against the weights.

CPU = user + sys of the generator process (rusage of the child) / requests it completed.

Usage: bench/reach.py [--perfloop target/release/perfloop] [--secs 5] [--rounds 3]
                      [--only tls,h2,handshake,mix]
Needs nginx, wrk, h2load (nghttp2-client), openssl and taskset.
"""
import argparse, json, os, re, resource, shutil, statistics, subprocess, sys, tempfile, time


def child_run(argv):
    """Runs argv on core 0; returns (stdout, cpu seconds) of the child."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.run(["taskset", "-c", "0", *argv], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode not in (0, 1):
        sys.exit(f"{argv[0]} failed ({p.returncode}): {p.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return p.stdout, cpu


def start_nginx(workdir, port):
    key, crt = os.path.join(workdir, "key.pem"), os.path.join(workdir, "cert.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", crt, "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True)
    conf = os.path.join(workdir, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"""worker_processes 1; pid {workdir}/nginx.pid; error_log {workdir}/error.log;
events {{ worker_connections 16384; }}
http {{ access_log off; keepalive_requests 1000000;
  log_format path '$uri';
  server {{ listen 127.0.0.1:{port} ssl http2;
    ssl_certificate {crt}; ssl_certificate_key {key};
    location / {{ return 200 "hello world\\n"; }}
    location /mix/ {{ access_log {workdir}/mix.log path; return 200 "mix\\n"; }} }} }}
""")
    last = str((os.cpu_count() or 1) - 1)
    subprocess.run(["taskset", "-c", last, "nginx", "-c", conf], check=True)
    for _ in range(50):
        if os.path.exists(os.path.join(workdir, "nginx.pid")):
            return
        time.sleep(0.1)
    sys.exit("nginx did not start")


def wrk_requests(out):
    m = re.search(r"(\d+) requests in", out)
    return int(m.group(1)) if m else 0


def h2load_requests(out):
    m = re.search(r"requests: \d+ total, \d+ started, (\d+) done", out)
    return int(m.group(1)) if m else 0


def perfloop_requests(path):
    with open(path) as f:
        record = json.load(f)
    return record["requests"]["ok"], record


def compare(name, peer, peer_argv, peer_count, ours_argv, json_path, rounds, unit):
    """Runs the peer and perfloop in turn; prints CPU µs per unit for each and the ratio."""
    rows = []
    for _ in range(rounds):
        out, cpu = child_run(peer_argv)
        n_peer = peer_count(out)
        _, cpu_ours = child_run(ours_argv)
        n_ours, _ = perfloop_requests(json_path)
        if n_peer == 0 or n_ours == 0:
            sys.exit(f"{name}: no {unit}s completed (peer {n_peer}, perfloop {n_ours})")
        rows.append((1e6 * cpu / n_peer, 1e6 * cpu_ours / n_ours, n_peer, n_ours))
    peer_us = statistics.median(r[0] for r in rows)
    ours_us = statistics.median(r[1] for r in rows)
    ratio = statistics.median(r[1] / r[0] for r in rows)
    secs = ours_argv[ours_argv.index("-d") + 1]
    print(f"{name}")
    print(f"  {peer:<10} {peer_us:8.2f} µs CPU per {unit}  "
          f"({statistics.median(r[2] for r in rows)} {unit}s in {secs})")
    print(f"  {'perfloop':<10} {ours_us:8.2f} µs CPU per {unit}  "
          f"({statistics.median(r[3] for r in rows)} {unit}s in {secs})")
    print(f"  ratio perfloop/{peer}: {ratio:.2f} (median of {rounds} rounds)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--perfloop", default="target/release/perfloop")
    ap.add_argument("--secs", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--only", default="tls,h2,handshake,mix")
    a = ap.parse_args()
    for tool in ("nginx", "wrk", "h2load", "openssl", "taskset"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is needed (apt-get install nginx wrk nghttp2-client openssl)")
    only = set(a.only.split(","))
    work = tempfile.mkdtemp(prefix="perfloop-reach-")
    port = 18443
    start_nginx(work, port)
    url = f"https://127.0.0.1:{port}/"
    js = os.path.join(work, "run.json")
    d = str(a.secs)
    ours = [a.perfloop, "load", url, "-c", "64", "-d", f"{d}s", "--threads", "1",
            "--insecure", "-q", "--json", js]
    try:
        if "tls" in only:
            compare("HTTPS keep-alive, 64 connections", "wrk",
                    ["wrk", "-t1", "-c64", f"-d{d}s", url], wrk_requests, ours, js,
                    a.rounds, "request")
        if "h2" in only:
            compare("HTTP/2, 64 connections x 10 streams", "h2load",
                    ["h2load", "-t1", "-c64", "-m10", "-D", d, url], h2load_requests,
                    ours + ["--http2", "--streams", "10"], js, a.rounds, "request")
        if "handshake" in only:
            compare("New TLS connection per request, 64 at a time", "wrk",
                    ["wrk", "-t1", "-c64", f"-d{d}s", "-H", "Connection: close", url],
                    wrk_requests, ours + ["--no-keepalive"], js, a.rounds, "handshake")
        if "mix" in only:
            scenario = os.path.join(work, "mix.toml")
            with open(scenario, "w") as f:
                f.write('[[request]]\nname = "heavy"\npath = "/mix/heavy"\nweight = 3\n\n'
                        '[[request]]\nname = "light"\npath = "/mix/light"\nweight = 1\n')
            child_run([a.perfloop, "load", url, "--scenario", scenario, "-c", "64",
                       "-n", "100000", "--threads", "1", "--insecure", "-q", "--json", js])
            with open(os.path.join(work, "mix.log")) as f:
                paths = [line.strip() for line in f]
            heavy, light = paths.count("/mix/heavy"), paths.count("/mix/light")
            total = heavy + light
            print("Scenario mix, weights 3:1")
            print(f"  nginx counted {total} requests: heavy {heavy} "
                  f"({100 * heavy / total:.2f} %, asked 75 %), light {light} "
                  f"({100 * light / total:.2f} %, asked 25 %)")
    finally:
        with open(os.path.join(work, "nginx.pid")) as f:
            subprocess.run(["kill", f.read().strip()])


if __name__ == "__main__":
    main()
