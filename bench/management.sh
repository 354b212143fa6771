#!/usr/bin/env bash
# Benchmark: what the management interface costs the fast path
# (docs/management.md). Handle resolutions/s through one rspd over loopback
# (rspd_load, 8 associations), with /metrics scraped every second (a
# Prometheus-like scraper) and without, alternately in each repetition on the
# same rspd and pool. Prints a Markdown table of medians, the median of each
# repetition's scraped / unscraped ratio, and what one scrape takes.
#
#   bench/management.sh [REPETITIONS=5] [SECONDS=5] [SCRAPE_INTERVAL=1]
set -euo pipefail
cd "$(dirname "$0")/.."
reps="${1:-5}"
seconds="${2:-5}"
interval="${3:-1}"
bazel build -c opt //tools:rspd //tools:rspd_load >/dev/null 2>&1
B="$(bazel info -c opt bazel-bin 2>/dev/null)/tools"
dir=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$dir"' EXIT

# The per-association rate limits are lifted: this measures the path.
"$B/rspd" --bind_address=127.0.0.1 --announce_group= --enrp_multicast_group= --udp_port=0 \
  --keep_alive_interval=1h --print_stats=false --max_registrations_per_second=0 \
  --max_resolutions_per_second=0 --management_address=127.0.0.1:0 >"$dir/server.out" 2>&1 &
until grep -q '^ready' "$dir/server.out"; do sleep 0.05; done
port=$(sed -n 's/^  udp 127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$dir/server.out")
mgmt=$(sed -n 's|^management: http://\([0-9.:]*\) .*|\1|p' "$dir/server.out")

load() {
  "$B/rspd_load" --target="127.0.0.1:$port" --mode=resolve --associations=8 --in_flight=32 \
    --seconds="$seconds" --warmup_seconds=1 --pool=bench "$@"
}
# Scrapes /metrics every $interval s until killed; appends each scrape's
# milliseconds to $dir/scrape_ms.
cat >"$dir/scraper.py" <<'PYEOF'
import sys, time, urllib.request
address, interval, out = sys.argv[1], float(sys.argv[2]), sys.argv[3]
while True:
    start = time.monotonic()
    body = urllib.request.urlopen("http://%s/metrics" % address, timeout=10).read()
    assert body.endswith(b"# EOF\n")
    with open(out, "a") as f:
        f.write("%.3f\n" % ((time.monotonic() - start) * 1000))
    time.sleep(max(0.0, interval - (time.monotonic() - start)))
PYEOF
rate() { sed -n 's/.* rate=\([0-9]*\) msg\/s/\1/p'; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a / b}'; }

: >"$dir/plain.rates"
: >"$dir/scraped.rates"
: >"$dir/ratios"
for _ in $(seq "$reps"); do
  p=$(load | rate)
  python3 "$dir/scraper.py" "$mgmt" "$interval" "$dir/scrape_ms" &
  scraper_pid=$!
  s=$(load | rate)
  kill "$scraper_pid"
  wait "$scraper_pid" 2>/dev/null || true
  echo "$p" >>"$dir/plain.rates"
  echo "$s" >>"$dir/scraped.rates"
  ratio "$s" "$p" >>"$dir/ratios"
  echo >>"$dir/ratios"
done
echo "| unscraped resolutions/s | scraped every ${interval} s | scraped / unscraped | one scrape (median ms) | scrapes |"
echo "| --- | --- | --- | --- | --- |"
echo "| $(median <"$dir/plain.rates") | $(median <"$dir/scraped.rates") | $(median <"$dir/ratios") | $(median <"$dir/scrape_ms") | $(wc -l <"$dir/scrape_ms") |"
