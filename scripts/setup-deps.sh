#!/usr/bin/env bash
# Installs what building and testing libs3insights needs, and only what is missing:
#   - Debian 12 packages (apt-get; as root, or through sudo when that exists);
#   - moto[server]==5.2.1, boto3, awscli, cfn-lint and aws-sam-translator for the `python3`
#     first in PATH (the interpreter CMake picks up and the tests run moto with).
# Idempotent and silent when nothing is missing. Tool output goes to a log that is shown
# only when a step fails. Exit status 0 only when everything is in place.
set -euo pipefail

APT_PACKAGES=(build-essential cmake pkg-config python3 python3-pip libcurl4-openssl-dev
	libssl-dev libyajl-dev libexpat1-dev zlib1g-dev libcmocka-dev libsqlite3-dev clang
	libclang-rt-14-dev abigail-tools doxygen)
MOTO_VERSION=5.2.1
PIP_PACKAGES=("moto[server]==${MOTO_VERSION}" boto3 awscli cfn-lint aws-sam-translator)
# Distributions that must import for the above to be usable (moto[server] pulls flask).
PY_DISTS=(boto3 awscli cfn-lint aws-sam-translator flask flask-cors)

log=$(mktemp "${TMPDIR:-/tmp}/s3i-setup-deps.XXXXXX")
trap 'rm -f "$log"' EXIT

say() { printf 'setup-deps: %s\n' "$*" >&2; }
die() {
	say "$*"
	if [[ -s $log ]]; then
		say "last lines of the tool output:"
		tail -n 30 "$log" >&2
	fi
	exit 1
}

as_root() {
	if [[ $(id -u) -eq 0 ]]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		return 127
	fi
}

# ---------------------------------------------------------------- system packages
# Installed for this machine's architecture (or `all`); with multiarch on, a name without an
# architecture also lists the package of the other one. "name:arm64" asks for that one only.
installed() {
	local want=$1 native
	native=$(dpkg --print-architecture 2>/dev/null || echo none)
	[[ $want == *:* ]] && native=${want#*:}
	dpkg-query -W -f='${Architecture} ${Status}\n' "$want" 2>/dev/null |
		grep -Eq "^($native|all) install ok installed$"
}
if command -v dpkg-query >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
	missing=()
	for p in "${APT_PACKAGES[@]}"; do
		installed "$p" || missing+=("$p")
	done
	if ((${#missing[@]})); then
		if [[ $(id -u) -ne 0 ]] && ! command -v sudo >/dev/null 2>&1; then
			die "missing packages: ${missing[*]}; run this script as root (no sudo here)"
		fi
		say "installing ${missing[*]}"
		export DEBIAN_FRONTEND=noninteractive
		as_root apt-get update -qq >>"$log" 2>&1 || die "apt-get update failed"
		as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >>"$log" 2>&1 ||
			die "apt-get install ${missing[*]} failed"
	fi
else
	say "not a Debian system: skipping system packages (needs a C11 compiler, cmake >= 3.18," \
		"pkg-config and the development files of libcurl, OpenSSL, yajl, expat, zlib, cmocka)"
fi

# ---------------------------------------------------------------- arm64 cross packages
# The arm64 Lambda zip (ctest unit/lambda_zip_arm64) needs Debian's cross compiler, the arm64
# -dev packages (multiarch) and qemu-user to start the bootstrap. Optional: when they cannot
# be installed the build says so and only the x86_64 zip is made. S3I_NO_ARM64=1 skips this.
ARM64_PACKAGES=(gcc-aarch64-linux-gnu g++-aarch64-linux-gnu qemu-user libcurl4-openssl-dev:arm64
	libssl-dev:arm64 libyajl-dev:arm64 libexpat1-dev:arm64 zlib1g-dev:arm64)
if [[ ${S3I_NO_ARM64:-0} != 1 && $(dpkg --print-architecture 2>/dev/null || true) == amd64 ]]; then
	missing=()
	for p in "${ARM64_PACKAGES[@]}"; do
		installed "$p" || missing+=("$p")
	done
	if ((${#missing[@]})); then
		say "installing ${missing[*]} (for the arm64 Lambda zip)"
		export DEBIAN_FRONTEND=noninteractive
		if ! { dpkg --print-foreign-architectures | grep -qx arm64 ||
				as_root dpkg --add-architecture arm64; } >>"$log" 2>&1 ||
			! as_root apt-get update -qq >>"$log" 2>&1 ||
			! as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >>"$log" 2>&1; then
			say "could not install the arm64 cross packages: no arm64 Lambda zip (see the log above)"
			tail -n 5 "$log" >&2
		fi
	fi
fi

# ---------------------------------------------------------------- Python packages
command -v python3 >/dev/null 2>&1 || die "python3 is not installed"

python_ok() {
	python3 - "$MOTO_VERSION" "${PY_DISTS[@]}" <<'EOF'
import sys
from importlib.metadata import PackageNotFoundError, version
want, dists = sys.argv[1], sys.argv[2:]
try:
    if version("moto") != want:
        sys.exit(1)
    for d in dists:
        version(d)
except PackageNotFoundError:
    sys.exit(1)
EOF
}

if ! python_ok; then
	python3 -m pip --version >/dev/null 2>&1 ||
		die "$(command -v python3) has no pip (install python3-pip, or put a Python with pip first in PATH)"
	pip_args=(install --quiet --no-input --disable-pip-version-check)
	# Debian marks its Python "externally managed" (PEP 668); these test tools may go beside it.
	if python3 -c 'import os, sys, sysconfig; sys.exit(not os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")))'; then
		pip_args+=(--break-system-packages)
	fi
	# A non-root user installs into ~/.local unless the interpreter is their own (venv, pyenv).
	if [[ $(id -u) -ne 0 ]] && ! python3 -c 'import os, sys; sys.exit(not os.access(sys.prefix, os.W_OK))'; then
		pip_args+=(--user)
	fi
	say "installing ${PIP_PACKAGES[*]} for $(command -v python3)"
	python3 -m pip "${pip_args[@]}" "${PIP_PACKAGES[@]}" >>"$log" 2>&1 ||
		die "pip install ${PIP_PACKAGES[*]} failed (no route to the package index? pip honours" \
			"PIP_INDEX_URL and PIP_FIND_LINKS)"
	python_ok || die "moto ${MOTO_VERSION} still not importable by $(command -v python3) after pip install"
fi
