#!/bin/sh
# SigV4 signing speed against botocore (docs/performance.md, "SigV4 signing").
#
# Builds bench_sigv4 when needed, checks that it and botocore_sigv4.py sign the very same
# requests (same Authorization for a fixed time), then runs the two in alternating rounds, C
# then Python for each scenario, so both see the same machine load. It prints the median
# time per signature of each, the median of the per-round ratios, and PASS/FAIL against the
# targets (S3 GET >= 100x, DynamoDB PutItem >= 50x botocore). Exit status 1 on a FAIL.
#
# Environment: BUILD_DIR (default <repo>/build-sigv4), ROUNDS (5), SECONDS_PER_RUN (1),
# PYTHON (python3).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${BUILD_DIR:-$root/build-sigv4}
rounds=${ROUNDS:-5}
secs=${SECONDS_PER_RUN:-1}
python=${PYTHON:-python3}
bin=$build/bench/sigv4/bench_sigv4

if [ ! -f "$build/CMakeCache.txt" ]; then
	cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DS3I_BUILD_EXAMPLES=OFF \
		-DS3I_BUILD_BENCH=ON -DS3I_ENABLE_INTEGRATION_TESTS=OFF >/dev/null
fi
cmake --build "$build" --target bench_sigv4 -j2 >/dev/null

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

"$bin" --print-auth 1700000000 >"$tmp/auth-c"
"$python" "$here/botocore_sigv4.py" --print-auth 1700000000 >"$tmp/auth-py"
if ! cmp -s "$tmp/auth-c" "$tmp/auth-py"; then
	echo "bench_sigv4 and botocore sign different requests:" >&2
	diff "$tmp/auth-c" "$tmp/auth-py" >&2 || true
	exit 1
fi

scenarios="s3-get ddb-putitem s3-get-resign ddb-putitem-resign"
r=1
while [ "$r" -le "$rounds" ]; do
	for sc in $scenarios; do
		"$bin" "$secs" "$sc" | sed "s/^/$r\tc\t/" >>"$tmp/runs"
		"$python" "$here/botocore_sigv4.py" "$secs" "$sc" | sed "s/^/$r\tpy\t/" >>"$tmp/runs"
	done
	r=$((r + 1))
done

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -1)
echo "SigV4 signing on one core: median of $rounds alternating rounds of ${secs} s per run"
echo "($(nproc 2>/dev/null || echo '?') CPUs ${cpu:+"$cpu"}; $(openssl version 2>/dev/null || echo OpenSSL);" \
	"botocore $("$python" -c 'import botocore; print(botocore.__version__)')," \
	"$("$python" --version 2>&1))"
echo

# runs: round, tool, name, signatures, seconds, signatures/s, us/signature
awk -F'\t' '
function median(list,    n, a, i, j, t) {
	n = split(list, a, " ")
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
{ us[$3, $2] = us[$3, $2] " " $7; t[$1, $3, $2] = $7 }
END {
	split("s3-get ddb-putitem s3-get-resign ddb-putitem-resign", names, " ")
	label["s3-get"] = "S3 GET"; target["s3-get"] = 100
	label["ddb-putitem"] = "DynamoDB PutItem 1 KiB"; target["ddb-putitem"] = 50
	label["s3-get-resign"] = "S3 GET, re-signed"; label["ddb-putitem-resign"] = "PutItem, re-signed"
	printf "%-24s %14s %17s %8s %7s  %s\n", "request", "libs3insights", "botocore add_auth",
		"ratio", "target", "result"
	printf "%-24s %14s %17s %8s %7s\n", "", "us/signature", "us/signature", "", ""
	fail = 0
	for (k = 1; k <= 4; k++) {
		n = names[k]; ratios = ""
		for (r = 1; (r, n, "c") in t; r++)
			ratios = ratios " " t[r, n, "py"] / t[r, n, "c"]
		c = median(us[n, "c"]); p = median(us[n, "py"]); q = median(ratios)
		if (n in target) {
			res = q >= target[n] ? "PASS" : "FAIL"; fail += res == "FAIL"
			printf "%-24s %14.3f %17.2f %7.0fx %6dx  %s\n", label[n], c, p, q, target[n], res
		} else {
			printf "%-24s %14.3f %17.2f %7.0fx %7s  %s\n", label[n], c, p, q, "-", "(info)"
		}
	}
	print ""
	print "ratio: median over the rounds of botocore time / libs3insights time, measured back to back"
	exit fail ? 1 : 0
}' "$tmp/runs"
