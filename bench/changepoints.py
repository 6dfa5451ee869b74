#!/usr/bin/env python3
"""Benchmark of `perfloop changepoints` against Apache Otava's expectations and TCPD's annotations.

1. Otava: the Tigerbeetle series with the change points Otava's own tests expect for ten
   parameter sets (window 30; p-value and magnitude vary). `--otava` must match all ten;
   for each, the change points of Otava's result that fail their own test (p-value against
   the segments they really separate at or above the threshold), and how perfloop's detector
   with no minimum segment (`--min-segment 1`: autocorrelated noise, strict merge) differs.
2. TCPD (van den Burg & Williams, arXiv:2003.06222): the 25 univariate series of TCPDBench's
   table present in the data folder, each run through `perfloop changepoints --json` with
   its default parameters (and with `--otava` at Otava's defaults, for comparison), scored
   as TCPDBench scores them: F1 with a margin of 5 and the segmentation cover, against every
   annotator (this file's own implementation of TCPDBench's metrics.py, checked against the
   published scores of the "zero" method first). TCPDBench's default `binseg` and `zero`
   per-series scores are shown beside them; its published means over 32 series are binseg
   F1 0.698, cover 0.672 (seven series are distributed only as download scripts).

Usage: bench/changepoints.py [--perfloop target/release/perfloop] [--data ../shared/data/changepoint]
"""
import argparse, json, os, subprocess, sys, tempfile

# TCPDBench analysis/output/scores/default_{f1,cover}_scores.json (v3), method "binseg".
BINSEG = {
    "bank": (0.4, 0.5094664371772806), "brent_spot": (0.48343373493975905, 0.6267941377908149),
    "businv": (0.3703703703703703, 0.5616385346323081), "centralia": (0.9090909090909091, 0.5635978835978837),
    "children_per_woman": (0.6175115207373272, 0.7982556272643626), "co2_canada": (0.6905689789555729, 0.6080954444081101),
    "construction": (0.7090909090909091, 0.4662169703155342), "debt_ireland": (0.7603305785123966, 0.6346153846153847),
    "gdp_argentina": (0.888888888888889, 0.6674763588023808), "gdp_croatia": (0.5833333333333333, 0.6053921568627451),
    "gdp_iran": (0.4915254237288136, 0.4773172527036974), "gdp_japan": (0.6153846153846154, 0.6538916256157635),
    "global_co2": (0.9285714285714286, 0.748224852071006), "homeruns": (0.8118811881188119, 0.6826141913243321),
    "jfk_passengers": (0.7755102040816326, 0.8392664497512488), "lga_passengers": (0.43820224719101125, 0.45828866764869847),
    "nile": (1.0, 0.8800821917808218), "ozone": (0.6495726495726496, 0.6001481481481481),
    "rail_lines": (0.8461538461538461, 0.7863825363825364), "seatbelts": (0.6829268292682926, 0.796945892630244),
    "shanghai_license": (0.8679245283018869, 0.9196947071511531), "unemployment_nl": (0.8764044943820225, 0.669177886902036),
    "us_population": (0.6666666666666666, 0.3909313725490196), "usd_isk": (0.6565143824027072, 0.7347653721190944),
    "well_log": (0.5342019543973942, 0.6954264948476262),
}
MARGIN = 5


def true_positives(truth, predictions):
    unused = sorted(set(predictions))
    count = 0
    for tau in sorted(truth):
        close = [(abs(tau - x), x) for x in unused if abs(tau - x) <= MARGIN]
        if close:
            unused.remove(min(close)[1])
            count += 1
    return count


def f1(annotators, predictions):
    x = set(predictions) | {0}
    sets = [set(a) | {0} for a in annotators]
    union = set().union(*sets)
    precision = true_positives(union, x) / len(x)
    recall = sum(true_positives(t, x) / len(t) for t in sets) / len(sets)
    return precision * recall / (0.5 * recall + 0.5 * precision)


def segments(cps, n):
    bounds = [0] + sorted(c for c in set(cps) if 0 < c < n) + [n]
    return list(zip(bounds, bounds[1:]))


def cover(annotators, predictions, n):
    predicted = segments(predictions, n)

    def jaccard(a, b):
        inter = max(0, min(a[1], b[1]) - max(a[0], b[0]))
        return inter / ((a[1] - a[0]) + (b[1] - b[0]) - inter)

    total = 0.0
    for a in annotators:
        total += sum((s[1] - s[0]) * max(jaccard(s, p) for p in predicted) for s in segments(a, n)) / n
    return total / len(annotators)


def perfloop_json(binary, values, flags, workdir):
    path = os.path.join(workdir, "series.json")
    with open(path, "w") as f:
        json.dump({"values": values}, f)
    p = subprocess.run([binary, "changepoints", "--json", *flags, path], capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"perfloop changepoints failed ({p.returncode}): {p.stderr}")
    return json.loads(p.stdout)["change_points"]


def otava_part(binary, data, workdir):
    series = json.load(open(os.path.join(data, "otava", "tigerbeetle_series.json")))["values"]
    cases = json.load(open(os.path.join(data, "otava", "tigerbeetle_expected.json")))
    print("== Otava: Tigerbeetle, 365 points, Otava's expected change points (HEAD) ==")
    matched = 0
    for case in cases:
        flags = ["--window", str(case["window_len"]), "--p-value", str(case["max_pvalue"]),
                 "--magnitude", str(case["min_magnitude"])]
        otava = perfloop_json(binary, series, ["--otava", *flags], workdir)
        strict = perfloop_json(binary, series, ["--min-segment", "1", *flags], workdir)
        got = [c["index"] for c in otava]
        ok = got == case["expected"]
        matched += ok
        strict_idx = {c["index"] for c in strict}
        failing = [f'{c["index"]} (p {c["p_value"]:.2g})' for c in otava if c["p_value"] >= case["max_pvalue"]]
        dropped = sorted(set(got) - strict_idx)
        added = sorted(strict_idx - set(got))
        print(f'p {case["max_pvalue"]:<7} magnitude {case["min_magnitude"]:<5} --otava: '
              f'{"match" if ok else "DIFFERS " + str(got)} ({len(got)} points), failing their own test: '
              f'{", ".join(failing) or "none"}; --min-segment 1 drops {dropped or "none"}, adds {added or "none"}')
    print(f"--otava matches {matched} of {len(cases)} parameter sets\n")


def tcpd_part(binary, data, workdir):
    tcpd = os.path.join(data, "tcpd")
    annotations = json.load(open(os.path.join(tcpd, "annotations.json")))
    zero = json.load(open(os.path.join(tcpd, "published_zero_baseline_scores.json")))["series"]
    for name, pub in zero.items():  # the metrics first
        a = list(annotations[name].values())
        assert abs(f1(a, []) - pub["f1"]) < 1e-12, name
        if pub["n_obs"]:
            assert abs(cover(a, [], pub["n_obs"]) - pub["cover"]) < 1e-12, name
    rows = []
    for name in sorted(BINSEG):
        doc = json.load(open(os.path.join(tcpd, name + ".json")))
        values = doc["series"][0]["raw"]
        n = len(values)
        a = list(annotations[name].values())
        scores = []
        for flags in ([], ["--otava"]):
            cps = [c["index"] for c in perfloop_json(binary, values, flags, workdir)]
            cps = sorted({c for c in cps if 1 <= c <= n - 2})
            scores.append((f1(a, cps), cover(a, cps, n), cps))
        rows.append((name, n, scores, zero[name]))
    print("== TCPD: 25 univariate series of TCPDBench's table, default parameters ==")
    print(f'{"series":<19}{"n":>5}  {"perfloop F1/cover":>17}  {"--otava F1/cover":>16}  '
          f'{"binseg F1/cover":>15}  {"zero F1/cover":>13}  perfloop change points')
    for name, n, s, z in rows:
        b = BINSEG[name]
        print(f"{name:<19}{n:>5}  {s[0][0]:>8.3f} {s[0][1]:>8.3f}  {s[1][0]:>7.3f} {s[1][1]:>8.3f}  "
              f"{b[0]:>7.3f} {b[1]:>7.3f}  {z['f1']:>6.3f} {z['cover']:>6.3f}  {s[0][2]}")
    k = len(rows)
    mean = lambda xs: sum(xs) / k
    print(f'{"mean":<24}  {mean([r[2][0][0] for r in rows]):>8.3f} {mean([r[2][0][1] for r in rows]):>8.3f}  '
          f'{mean([r[2][1][0] for r in rows]):>7.3f} {mean([r[2][1][1] for r in rows]):>8.3f}  '
          f'{mean([b[0] for b in BINSEG.values()]):>7.3f} {mean([b[1] for b in BINSEG.values()]):>7.3f}  '
          f'{mean([r[3]["f1"] for r in rows]):>6.3f} {mean([r[3]["cover"] for r in rows]):>6.3f}')
    print("TCPDBench's published means over its 32 series: binseg F1 0.698 cover 0.672; zero 0.645 / 0.566")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--perfloop", default="target/release/perfloop")
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--data", default=os.path.join(here, "..", "..", "shared", "data", "changepoint"))
    a = ap.parse_args()
    if not os.path.isdir(a.data):
        sys.exit(f"no data at {a.data}")
    with tempfile.TemporaryDirectory() as workdir:
        otava_part(a.perfloop, a.data, workdir)
        tcpd_part(a.perfloop, a.data, workdir)


if __name__ == "__main__":
    main()
