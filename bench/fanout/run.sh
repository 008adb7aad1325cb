#!/bin/sh
# HeadObject fan-out against boto3 on the same loopback S3 server (docs/performance.md,
# "Fan-out (HeadObject)").
#
# Builds bench_fanout and s3_head_server when needed, starts the server on a free port, then
# runs in alternating rounds: bench_fanout (REQUESTS HeadObject calls at concurrency 1, 16 and
# 64 through s3i_fanout_head_objects) and boto3_fanout.py (the same calls with boto3, one
# after the other and on a 16-thread pool), so all see the same machine load. It prints the
# median requests/s and client CPU per request of each, the median of the per-round ratios,
# and PASS/FAIL against the targets (concurrency 64 >= 20x boto3 sequential and >= 5x boto3
# with 16 threads). Exit status 1 on a FAIL.
#
# Environment: BUILD_DIR (default <repo>/build-fanout-bench), ROUNDS (3), REQUESTS (2000),
# PYTHON (python3), RUNS_FILE (when set, every round's lines are kept there: round, mode,
# requests, seconds, requests/s, CPU us/request).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${BUILD_DIR:-$root/build-fanout-bench}
rounds=${ROUNDS:-3}
requests=${REQUESTS:-2000}
python=${PYTHON:-python3}
bin=$build/bench/fanout

if [ ! -f "$build/CMakeCache.txt" ]; then
	cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DS3I_BUILD_EXAMPLES=OFF \
		-DS3I_BUILD_TESTS=OFF -DS3I_BUILD_BENCH=ON -DS3I_ENABLE_INTEGRATION_TESTS=OFF >/dev/null
fi
cmake --build "$build" --target bench_fanout s3_head_server -j2 >/dev/null

tmp=$(mktemp -d)
server_pid=
cleanup() {
	if [ -n "$server_pid" ]; then
		kill "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

"$bin/s3_head_server" --port-file "$tmp/port" >/dev/null 2>"$tmp/server.log" &
server_pid=$!
i=0
while [ ! -s "$tmp/port" ]; do
	i=$((i + 1))
	if [ "$i" -gt 100 ] || ! kill -0 "$server_pid" 2>/dev/null; then
		echo "s3_head_server did not start:" >&2
		cat "$tmp/server.log" >&2
		exit 1
	fi
	sleep 0.05
done
url="http://127.0.0.1:$(cat "$tmp/port")"

r=1
while [ "$r" -le "$rounds" ]; do
	"$bin/bench_fanout" "$url" "$requests" 1,16,64 | sed "s/^/$r\t/" >>"$tmp/runs"
	"$python" "$here/boto3_fanout.py" "$url" "$requests" seq,threads16 | sed "s/^/$r\t/" >>"$tmp/runs"
	r=$((r + 1))
done
kill "$server_pid"
wait "$server_pid" 2>/dev/null || true
server_pid=
if [ -n "${RUNS_FILE:-}" ]; then
	cp "$tmp/runs" "$RUNS_FILE"
fi

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -1)
echo "HeadObject fan-out: $requests calls per run, median of $rounds alternating rounds"
echo "($(nproc 2>/dev/null || echo '?') CPUs ${cpu:+"$cpu"}; $(curl --version 2>/dev/null | head -1 | cut -d' ' -f1-2);" \
	"boto3 $("$python" -c 'import boto3; print(boto3.__version__)')," \
	"$("$python" --version 2>&1); load average $(cut -d' ' -f1-3 /proc/loadavg))"
echo

# runs: round, mode, requests, seconds, requests/s, client CPU us/request
awk -F'\t' '
function median(list,    n, a, i, j, t) {
	n = split(list, a, " ")
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
{ rps[$2] = rps[$2] " " $5; cpu[$2] = cpu[$2] " " $6; t[$1, $2] = $5; last = $1 }
END {
	split("c1 c16 c64 seq threads16", modes, " ")
	label["c1"] = "libs3insights fan-out, concurrency 1"
	label["c16"] = "libs3insights fan-out, concurrency 16"
	label["c64"] = "libs3insights fan-out, concurrency 64"
	label["seq"] = "boto3, sequential"
	label["threads16"] = "boto3, 16 threads"
	printf "%-40s %12s %16s\n", "client", "requests/s", "CPU us/request"
	for (k = 1; k <= 5; k++) {
		m = modes[k]
		printf "%-40s %12.0f %16.1f\n", label[m], median(rps[m]), median(cpu[m])
	}
	print ""
	printf "%-40s %8s %7s  %s\n", "ratio (median of per-round ratios)", "ratio", "target", "result"
	fail = 0
	split("seq threads16", base, " ")
	target["seq"] = 20; target["threads16"] = 5
	for (k = 1; k <= 2; k++) {
		b = base[k]; ratios = ""
		for (r = 1; r <= last; r++)
			ratios = ratios " " t[r, "c64"] / t[r, b]
		q = median(ratios)
		res = q >= target[b] ? "PASS" : "FAIL"; fail += res == "FAIL"
		printf "%-40s %7.1fx %6dx  %s\n", "concurrency 64 / " label[b], q, target[b], res
	}
	for (k = 1; k <= 2; k++) {
		b = base[k]
		printf "%-40s %7.1fx %7s  %s\n", "CPU per request: " label[b] " / c64",
			median(cpu[b]) / median(cpu["c64"]), "-", "(info)"
	}
	exit fail ? 1 : 0
}' "$tmp/runs" || status=$?
echo
sed 's/^/server: /' "$tmp/server.log"
exit "${status:-0}"
