#!/usr/bin/env bash
# The test command. On a fresh Debian 12 it installs what it needs (scripts/setup-deps.sh),
# then runs three phases:
#   release  build/       RelWithDebInfo, every test: ctest -L unit, integration and fuzz
#                         (the fuzz label replays tests/fuzz/corpus/* without libFuzzer)
#   asan     build-asan/  ASan+UBSan: every unit and integration test
#   fuzz     build-fuzz/  clang + libFuzzer + ASan/UBSan: the corpora replayed, then each
#                         fuzz target run for S3I_FUZZ_SECONDS (default 20) on a copy of them
# Usage: scripts/test.sh [release] [asan] [fuzz]      (no argument: all three)
# Environment: S3I_JOBS (build parallelism, default nproc), S3I_FUZZ_SECONDS.
# The last line is "N passed, N failed" over every ctest test and fuzz run; the exit status
# is 0 only when nothing failed.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD

JOBS=${S3I_JOBS:-$(nproc 2>/dev/null || echo 2)}
FUZZ_SECONDS=${S3I_FUZZ_SECONDS:-20}
PHASES=("$@")
((${#PHASES[@]})) || PHASES=(release asan fuzz)

passed=0
failed=0
problems=()
started=$SECONDS

note() { printf '\n==> %s\n' "$*"; }
problem() {
	problems+=("$*")
	failed=$((failed + 1))
	printf '*** %s\n' "$*" >&2
}

scripts/setup-deps.sh || { echo "0 passed, 1 failed"; exit 1; }
PYTHON=$(command -v python3)

# configure DIR CMAKE-ARGS...: (re)configure quietly; the log is shown on failure.
configure() {
	local dir=$1
	shift
	mkdir -p "$dir"
	if ! cmake -S "$ROOT" -B "$dir" -DPython3_EXECUTABLE="$PYTHON" -DS3I_BUILD_TESTS=ON \
		-DBUILD_TESTING=ON "$@" >"$dir/configure.log" 2>&1; then
		tail -n 40 "$dir/configure.log" >&2
		return 1
	fi
}

# build DIR [TARGETS...]: keeps going past errors, so what does build still gets tested.
build() {
	local dir=$1
	shift
	local args=() native=()
	(($#)) && args=(--target "$@")
	case $(sed -n 's/^CMAKE_GENERATOR:INTERNAL=//p' "$dir/CMakeCache.txt") in
	Ninja*) native=(-- -k 0) ;;
	*Makefiles*) native=(-- -k) ;;
	esac
	cmake --build "$dir" -j "$JOBS" "${args[@]}" "${native[@]}"
}

# run_ctest DIR CTEST-ARGS...: runs ctest and adds its counts to the totals.
run_ctest() {
	local dir=$1
	shift
	local log
	log=$(mktemp "${TMPDIR:-/tmp}/s3i-ctest.XXXXXX")
	(cd "$dir" && ctest --output-on-failure "$@") 2>&1 | tee "$log"
	local rc=${PIPESTATUS[0]}
	local line
	line=$(grep -E '[0-9]+% tests passed, [0-9]+ tests failed out of [0-9]+' "$log" | tail -n 1)
	if [[ $line =~ ([0-9]+)\ tests\ failed\ out\ of\ ([0-9]+) ]]; then
		failed=$((failed + BASH_REMATCH[1]))
		passed=$((passed + BASH_REMATCH[2] - BASH_REMATCH[1]))
		if ((rc != 0 && BASH_REMATCH[1] == 0)); then
			problem "ctest $* in $dir exited $rc"
		fi
	elif ((rc != 0)); then
		problem "ctest $* in $dir exited $rc"
	fi
	rm -f "$log"
}

fuzz_sources() {
	local f
	for f in "$ROOT"/tests/fuzz/fuzz_*.c; do
		[[ -e $f ]] && basename "$f" .c
	done
}

phase_release() {
	note "release build (build/)"
	configure build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DS3I_SANITIZE= -DS3I_FUZZ=OFF \
		-DS3I_ENABLE_INTEGRATION_TESTS=ON || { problem "release: cmake configure failed"; return; }
	build build || problem "release: build failed (the tests that did build still run)"
	note "release tests: unit, integration, fuzz (corpus replay)"
	run_ctest build -j 2
}

phase_asan() {
	note "ASan+UBSan build (build-asan/)"
	configure build-asan -DCMAKE_BUILD_TYPE=Debug -DS3I_SANITIZE=address,undefined -DS3I_FUZZ=OFF \
		-DS3I_ENABLE_INTEGRATION_TESTS=ON -DS3I_BUILD_EXAMPLES=OFF -DS3I_BUILD_BENCH=OFF ||
		{ problem "asan: cmake configure failed"; return; }
	build build-asan || problem "asan: build failed (the tests that did build still run)"
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
	export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
	note "ASan+UBSan: unit tests"
	run_ctest build-asan -j 2 -L unit
	note "ASan+UBSan: integration tests"
	run_ctest build-asan -j 2 -L integration
	unset ASAN_OPTIONS UBSAN_OPTIONS
}

phase_fuzz() {
	note "libFuzzer build (build-fuzz/, clang)"
	local names=()
	mapfile -t names < <(fuzz_sources)
	if ((${#names[@]} == 0)); then
		echo "no fuzz targets (tests/fuzz/fuzz_*.c) yet"
		return
	fi
	if ! command -v clang >/dev/null 2>&1; then
		problem "fuzz: clang is not installed"
		return
	fi
	# S3I_FUZZ=ON gives every object (the library's too, not only the fuzz entry points)
	# libFuzzer's coverage instrumentation (CMakeLists.txt).
	configure build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
		-DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_FLAGS= -DCMAKE_CXX_FLAGS= \
		-DS3I_FUZZ=ON -DS3I_SANITIZE=address,undefined -DS3I_ENABLE_INTEGRATION_TESTS=OFF \
		-DS3I_BUILD_EXAMPLES=OFF -DS3I_BUILD_BENCH=OFF || { problem "fuzz: cmake configure failed"; return; }
	local targets=() n
	for n in "${names[@]}"; do
		targets+=("$n" "${n}_replay")
	done
	build build-fuzz "${targets[@]}" || { problem "fuzz: build failed"; return; }

	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
	export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
	note "fuzz: corpus replay"
	run_ctest build-fuzz -j 2 -L fuzz
	note "fuzz: ${FUZZ_SECONDS} s per target"
	mkdir -p build-fuzz/fuzz-artifacts
	for n in "${names[@]}"; do
		local short=${n#fuzz_} bin log
		bin=$(find build-fuzz -type f -name "$n" -perm -u+x | head -n 1)
		[[ -n $bin ]] || { problem "fuzz: $n was not built"; continue; }
		log=build-fuzz/fuzz-artifacts/$short.log
		local seeds=()
		[[ -d tests/fuzz/corpus/$short ]] && seeds=("tests/fuzz/corpus/$short")
		mkdir -p "build-fuzz/fuzz-corpus/$short"
		# New inputs go to build-fuzz/fuzz-corpus; the committed corpus is only read.
		if "$bin" -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 \
			-artifact_prefix="build-fuzz/fuzz-artifacts/$short-" \
			"build-fuzz/fuzz-corpus/$short" "${seeds[@]}" >"$log" 2>&1; then
			passed=$((passed + 1))
			echo "fuzz/$short: $(grep -Eo 'Done [0-9]+ runs in [0-9]+ second' "$log" | tail -n 1 || true)"
		else
			tail -n 60 "$log" >&2
			problem "fuzz/$short: libFuzzer found a failure (log and reproducer in build-fuzz/fuzz-artifacts/)"
		fi
	done
	unset ASAN_OPTIONS UBSAN_OPTIONS
}

for p in "${PHASES[@]}"; do
	case $p in
	release | asan | fuzz)
		t0=$SECONDS
		"phase_$p"
		echo "($p: $((SECONDS - t0)) s)"
		;;
	*)
		echo "unknown phase '$p' (release, asan, fuzz)" >&2
		exit 2
		;;
	esac
done

note "summary ($((SECONDS - started)) s)"
for p in "${problems[@]}"; do
	echo "  problem: $p"
done
echo "$passed passed, $failed failed"
((failed == 0))
