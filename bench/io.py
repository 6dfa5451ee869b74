#!/usr/bin/env python3
"""perfloop's I/O backends (epoll, io_uring) against wrk, h2load and oha, on nginx, in one run.

nginx serves a 12-byte body (one worker, pinned to the last core); each generator is pinned
to core 0 with one thread, and the generators run in alternated rounds (A B C ... A B C ...)
at each connection count (default 64 and 1024), closed model, HTTP/1.1 keep-alive:

- req/s: requests completed / seconds asked;
- CPU µs per request: user + sys of the generator process (its own rusage, from wait4) /
  requests completed;
- system calls per request: a separate short run of each generator under
  `perf stat -e raw_syscalls:sys_enter` (or `strace -c -f` where perf cannot count);
- peak RSS of the generator process (GNU time's %M, MiB).

Prints the medians per generator and connection count, the ratios that matter (perfloop's
io_uring CPU per request against wrk's at the lowest connection count, and against perfloop's
epoll at each count: per round, as the rounds alternate, and their median), and optionally
writes every measurement as JSON (--json FILE).

With --memory SECS it measures instead whether memory stays flat in run length: each perfloop
backend runs SECS at the largest connection count, its resident size read from
/proc/PID/status every second; printed: RSS after 10 s, after a minute (or a fifth of the run),
at the end, and the growth from that point to the end in KiB per minute.

Usage: bench/io.py [--perfloop target/release/perfloop] [--conns 64,1024] [--secs 5]
                   [--rounds 3] [--syscall-secs 2] [--json FILE] [--memory SECS]
Needs nginx, wrk and h2load (apt-get install nginx wrk nghttp2-client); oha is used when
installed, and skipped (and said so) when not. perf or strace for the system calls.
"""
import argparse, json, os, re, shutil, statistics, subprocess, sys, tempfile, time


def run_measured(argv, work):
    """Run argv; return (stdout, cpu seconds, peak RSS in MiB) of its process.

    The process is started by GNU time, not forked from Python: a child forked from this
    interpreter would report the interpreter's own resident size as its peak.
    """
    rss_file = os.path.join(work, "rss.txt")
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        p = subprocess.Popen(["/usr/bin/time", "-f", "%M", "-o", rss_file] + argv,
                             stdout=out, stderr=err, text=True)
        _, status, ru = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if p.returncode not in (0, 1):
        sys.exit(f"{' '.join(argv)} failed ({p.returncode}): {stderr[-2000:]}")
    with open(rss_file) as f:
        rss_kib = int(f.read().split()[-1])
    return stdout, ru.ru_utime + ru.ru_stime, rss_kib / 1024.0


def start_nginx(work, port):
    conf = os.path.join(work, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"""worker_processes 1; worker_rlimit_nofile 65536;
pid {work}/nginx.pid; error_log {work}/error.log;
events {{ worker_connections 16384; }}
http {{ access_log off; keepalive_requests 100000000; keepalive_timeout 300s;
  server {{ listen 127.0.0.1:{port} backlog=4096;
    location / {{ return 200 "hello world\\n"; }} }} }}
""")
    last = str((os.cpu_count() or 1) - 1)
    subprocess.run(["taskset", "-c", last, "nginx", "-c", conf], check=True)
    for _ in range(50):
        if os.path.exists(os.path.join(work, "nginx.pid")):
            return
        time.sleep(0.1)
    sys.exit("nginx did not start")


def stop_nginx(work):
    pid_file = os.path.join(work, "nginx.pid")
    if os.path.exists(pid_file):
        subprocess.run(["kill", open(pid_file).read().strip()])


class Tool:
    """A generator: its command line and how to read its request count."""

    def __init__(self, name, argv, count):
        self.name, self.argv, self.count = name, argv, count


def tools(a, url, work):
    jf = os.path.join(work, "run.json")

    def wrk(c, s):
        return ["wrk", "-t1", f"-c{c}", f"-d{s}s", url]

    def wrk_count(out):
        return int(re.search(r"(\d+) requests in", out).group(1))

    def h2load(c, s):
        return ["h2load", "--h1", "-t1", f"-c{c}", "-D", str(s), url]

    def h2load_count(out):
        return int(re.search(r"requests: \d+ total, \d+ started, (\d+) done", out).group(1))

    def oha(c, s):
        return ["oha", "--no-tui", "-c", str(c), "-z", f"{s}s", "--output-format", "json", url]

    def oha_count(out):
        return int(sum(json.loads(out)["statusCodeDistribution"].values()))

    def perfloop(io):
        def argv(c, s):
            return [a.perfloop, "load", url, "-c", str(c), "-d", f"{s}s", "-t", "1", "--io", io,
                    "--json", jf, "-q", "--no-save"]
        return argv

    def perfloop_count(_out):
        with open(jf) as f:
            record = json.load(f)
        backend = record["load"].get("io_backend")
        return record["requests"]["total"], backend

    found = [Tool("wrk", wrk, wrk_count), Tool("h2load", h2load, h2load_count)]
    if shutil.which("oha"):
        found.append(Tool("oha", oha, oha_count))
    else:
        print("oha: not installed, skipped (cargo install oha takes too long to build here)")
    found.append(Tool("perfloop-epoll", perfloop("epoll"), perfloop_count))
    found.append(Tool("perfloop-uring", perfloop("uring"), perfloop_count))
    return found


def requests_of(tool, out):
    n = tool.count(out)
    if isinstance(n, tuple):
        n, backend = n
        want = tool.name.split("-")[1]
        if backend != want:
            sys.exit(f"{tool.name} ran on {backend}, not {want}")
    return n


def syscalls(argv, work):
    """System calls of one run of argv (threads included), or None when nothing counts them."""
    if shutil.which("perf"):
        out = os.path.join(work, "perf.csv")
        p = subprocess.run(["perf", "stat", "-x,", "-e", "raw_syscalls:sys_enter", "-o", out,
                            "--"] + argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if p.returncode in (0, 1) and os.path.exists(out):
            for line in open(out):
                parts = line.strip().split(",")
                if len(parts) > 2 and parts[2] == "raw_syscalls:sys_enter" and parts[0].isdigit():
                    return int(parts[0]), p.stdout
    if shutil.which("strace"):
        out = os.path.join(work, "strace.txt")
        p = subprocess.run(["strace", "-c", "-f", "-o", out, "--"] + argv,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        m = re.search(r"100\.00\s+\S+\s+\S+\s+(\d+)", open(out).read())
        if m:
            return int(m.group(1)), p.stdout
    return None, None


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def memory(a, url, work, conns):
    """Resident size over a long run of each perfloop backend at `conns` connections."""
    print(f"\n== memory in run length: {a.memory} s at {conns} connections, closed model, "
          f"one generator thread on core 0")
    print(f"{'backend':8s} {'req/s':>10s} {'RSS@10s':>9s} {'RSS@ref':>9s} {'RSS end':>9s} "
          f"{'growth after ref, KiB/min':>26s}")
    ref_s = min(60, max(10, a.memory // 5))
    rows = {}
    for io in ("epoll", "uring"):
        jf = os.path.join(work, f"memory-{io}.json")
        argv = ["taskset", "-c", "0", a.perfloop, "load", url, "-c", str(conns), "-d",
                f"{a.memory}s", "-t", "1", "--io", io, "--json", jf, "-q", "--no-save"]
        p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        t0, samples = time.monotonic(), []
        while p.poll() is None:
            kib = rss_kib(p.pid)
            if kib is not None:
                samples.append((time.monotonic() - t0, kib))
            time.sleep(1.0)
        if p.returncode != 0:
            sys.exit(f"perfloop --io {io} failed ({p.returncode}): {p.stderr.read()[-2000:]}")
        with open(jf) as f:
            record = json.load(f)
        if record["load"].get("io_backend") != io:
            sys.exit(f"perfloop ran on {record['load'].get('io_backend')}, not {io}")
        at = lambda s: next((k for t, k in samples if t >= s), samples[-1][1])
        end_t, end_k = samples[-1]
        ref_k = at(ref_s)
        growth = (end_k - ref_k) / max((end_t - ref_s) / 60.0, 1e-9)
        rows[io] = {"rps": record["throughput_rps"], "rss_kib": samples, "ref_s": ref_s,
                    "growth_kib_per_min": growth}
        print(f"{io:8s} {record['throughput_rps']:10.0f} {at(10) / 1024:9.1f} {ref_k / 1024:9.1f} "
              f"{end_k / 1024:9.1f} {growth:26.1f}")
    print(f"(ref = {ref_s} s; RSS in MiB)")
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--perfloop", default="target/release/perfloop")
    ap.add_argument("--conns", default="64,1024")
    ap.add_argument("--secs", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--syscall-secs", type=int, default=2)
    ap.add_argument("--json")
    ap.add_argument("--memory", type=int, help="seconds of one long run per backend")
    a = ap.parse_args()
    for tool in ("nginx", "wrk", "h2load", "taskset", "/usr/bin/time"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is needed: apt-get install nginx wrk nghttp2-client")
    conns = [int(c) for c in a.conns.split(",")]
    work = tempfile.mkdtemp(prefix="perfloop-io-bench")
    port = 20000 + os.getpid() % 1000
    url = f"http://127.0.0.1:{port}/"
    start_nginx(work, port)
    pin = ["taskset", "-c", "0"]
    results = {}
    if a.memory:
        try:
            rows = memory(a, url, work, max(conns))
        finally:
            stop_nginx(work)
        if a.json:
            with open(a.json, "w") as f:
                json.dump(rows, f, indent=2)
        return
    try:
        gens = tools(a, url, work)
        for c in conns:
            for r in range(a.rounds):
                for t in gens:
                    out, cpu, rss = run_measured(pin + t.argv(c, a.secs), work)
                    n = requests_of(t, out)
                    row = results.setdefault((t.name, c), {"runs": []})
                    row["runs"].append({"rps": n / a.secs, "cpu_us": cpu * 1e6 / max(n, 1),
                                        "rss_mib": rss})
            for t in gens:
                calls, out = syscalls(pin + t.argv(c, a.syscall_secs), work)
                if calls is not None:
                    n = requests_of(t, out)
                    results[(t.name, c)]["syscalls_per_request"] = calls / max(n, 1)
    finally:
        stop_nginx(work)

    med = lambda rows, k: statistics.median(x[k] for x in rows)
    print(f"\n== closed model, HTTP/1.1 keep-alive, nginx 1 worker; {a.secs} s x {a.rounds} "
          f"rounds, one generator thread on core 0")
    print(f"{'generator':16s} {'conns':>5s} {'req/s':>10s} {'CPU µs/req':>11s} "
          f"{'syscalls/req':>13s} {'peak RSS MiB':>13s}")
    for (name, c), row in sorted(results.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        runs = row["runs"]
        sc = row.get("syscalls_per_request")
        row["median"] = {"rps": med(runs, "rps"), "cpu_us": med(runs, "cpu_us"),
                         "rss_mib": max(x["rss_mib"] for x in runs)}
        print(f"{name:16s} {c:5d} {row['median']['rps']:10.0f} {row['median']['cpu_us']:11.2f} "
              f"{'-' if sc is None else f'{sc:.2f}':>13s} {row['median']['rss_mib']:13.1f}")
    def paired(name, other, c):
        """Per round, name's CPU per request over other's (the rounds alternate, so a pair
        shares the machine's state); their median, and the list."""
        mine, theirs = results[(name, c)]["runs"], results[(other, c)]["runs"]
        ratios = [m["cpu_us"] / t["cpu_us"] for m, t in zip(mine, theirs)]
        return statistics.median(ratios), ratios

    low = min(conns)
    print()
    ratio, ratios = paired("perfloop-uring", "wrk", low)
    print(f"uring CPU per request / wrk's at {low} connections, median of rounds: {ratio:.3f} "
          f"{[round(r, 3) for r in ratios]} (goal <= 0.75: {'met' if ratio <= 0.75 else 'NOT met'})")
    for c in conns:
        ratio, ratios = paired("perfloop-uring", "perfloop-epoll", c)
        print(f"uring CPU per request / epoll's at {c} connections, median of rounds: {ratio:.3f} "
              f"{[round(r, 3) for r in ratios]} ({'no worse' if ratio <= 1.0 else 'worse'})")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({f"{n}@{c}": row for (n, c), row in results.items()}, f, indent=2)


main()
