#!/usr/bin/env bash
# Records/s of the demo target's batch mode over a grid of knob settings, on this machine.
#
#   bench/demo-knobs.sh [--records N] [--users N] [--runs N] [W,B,P,C ...]
#
# Without settings: one-at-a-time sweeps of each knob around the defaults. A setting
# W,B,P,C is workers, batch size, pool size, cache size. Run it on a quiet machine: the
# optimum depends on the cores free for matching.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet -p perfloop-demo --example knobs
echo "# $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
exec target/release/examples/knobs "$@"
