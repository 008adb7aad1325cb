#!/bin/sh
# `cmake --install` of a build tree into a temporary prefix gives what a user of the library
# needs (issue 6, item 2): the public headers, the shared library with its SONAME links, the
# static library, lib/pkgconfig/libs3insights.pc and the CMake package. Then a small program
# (tests/fixtures/consumer) and examples/s3i_demo.c are built out of tree against that prefix
# through pkg-config (shared and --static) and through find_package(s3insights) (both targets),
# and run.
#
#   check_install.sh BUILD_DIR SOURCE_DIR LIBDIR VERSION SOVERSION C_COMPILER CMAKE [FLAGS]
#
# FLAGS go to every consumer's compile and link (a sanitizer build passes -fsanitize=...).
#
# S3I_INSTALL_SABOTAGE=PATH (relative to the prefix) deletes that file after installing, to
# show that a broken install fails this check (ctest's unit/install_broken does that).
# Exit status 0 only when every check passed.
set -eu

build=$1 src=$(cd "$2" && pwd) libdir=$3 version=$4 soversion=$5 cc=$6 cmake=$7 extra=${8:-}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/s3i-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
prefix=$tmp/prefix
failures=0

fail() { echo "check_install: FAILED: $*"; failures=$((failures + 1)); }
die() { echo "check_install: FAILED: $*"; exit 1; }
step() { echo "check_install: $*"; }

step "installing $build into $prefix"
"$cmake" --install "$build" --prefix "$prefix" >"$tmp/install.log" 2>&1 ||
	{ cat "$tmp/install.log"; die "cmake --install $build failed"; }

if [ -n "${S3I_INSTALL_SABOTAGE:-}" ]; then
	step "deliberately deleting $S3I_INSTALL_SABOTAGE from the install"
	rm -f "$prefix/$S3I_INSTALL_SABOTAGE"
fi

# ---------------------------------------------------------------- headers
nheaders=0
for h in $(cd "$src/include" && find s3insights -name '*.h' | sort); do
	nheaders=$((nheaders + 1))
	if [ ! -f "$prefix/include/$h" ]; then
		fail "public header include/$h is not installed"
	elif ! cmp -s "$src/include/$h" "$prefix/include/$h"; then
		fail "installed include/$h differs from the source tree's"
	fi
done
[ "$nheaders" -gt 0 ] || die "no public headers found under $src/include/s3insights"
step "headers: $nheaders checked"

# ---------------------------------------------------------------- libraries
lib=$prefix/$libdir
real=$lib/libs3insights.so.$version
soname=libs3insights.so.$soversion
if [ ! -f "$real" ] || [ -L "$real" ]; then
	fail "$libdir/libs3insights.so.$version is not installed as a file"
fi
[ "$(readlink "$lib/$soname" 2>/dev/null)" = "libs3insights.so.$version" ] ||
	fail "$libdir/$soname is not a symlink to libs3insights.so.$version"
[ "$(readlink "$lib/libs3insights.so" 2>/dev/null)" = "$soname" ] ||
	fail "$libdir/libs3insights.so (the link-time name) is not a symlink to $soname"
if [ -f "$real" ]; then
	got=$(readelf -d "$real" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
	[ "$got" = "$soname" ] || fail "SONAME of the installed library is '$got', expected '$soname'"
	nm -D --defined-only "$real" | grep -q ' s3i_version_string@@S3I_' ||
		fail "s3i_version_string is not exported with a S3I_ symbol version"
fi
if [ -f "$lib/libs3insights.a" ]; then
	nm "$lib/libs3insights.a" 2>/dev/null | grep -q ' T s3i_version_string$' ||
		fail "$libdir/libs3insights.a does not define s3i_version_string"
else
	fail "static library $libdir/libs3insights.a is not installed"
fi
step "libraries: checked"

# The runner, when the build has examples: it must start from the prefix (its library found
# through the installed RUNPATH or the system's paths) and answer --help.
if [ -f "$build/examples/runner/s3insights" ]; then
	if [ ! -x "$prefix/bin/s3insights" ]; then
		fail "the s3insights runner is not installed in bin/"
	elif ! LD_LIBRARY_PATH="$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
		"$prefix/bin/s3insights" --help >"$tmp/runner-help.txt" 2>&1 ||
		! grep -q "harvest\|run " "$tmp/runner-help.txt"; then
		fail "the installed s3insights runner does not answer --help: $(head -c 300 "$tmp/runner-help.txt")"
	else
		step "runner: bin/s3insights answers --help"
	fi
fi

# ---------------------------------------------------------------- pkg-config file
pc=$lib/pkgconfig/libs3insights.pc
PKG_CONFIG_PATH=$lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
export PKG_CONFIG_PATH
if [ -f "$pc" ]; then
	pkg-config --validate libs3insights || fail "pkg-config --validate rejects $pc"
	[ "$(pkg-config --modversion libs3insights)" = "$version" ] ||
		fail "$pc says version $(pkg-config --modversion libs3insights), expected $version"
	reqpriv=$(sed -n 's/^Requires\.private:[[:space:]]*//p' "$pc")
	for dep in libcurl libcrypto yajl expat zlib; do
		case " $reqpriv " in *" $dep "*|*" $dep,"*) ;; *) fail "$pc: Requires.private lacks $dep" ;; esac
	done
	sed -n 's/^Requires:[[:space:]]*//p' "$pc" | grep -q . &&
		fail "$pc: dependencies belong in Requires.private, not Requires (shared linking needs none)"
	grep -q '^Libs\.private:.*-lpthread' "$pc" || fail "$pc: Libs.private lacks -lpthread"
	# The file must describe where it was installed, not the configure-time prefix.
	inc=$(pkg-config --variable=includedir libs3insights)
	[ -f "$inc/s3insights/s3insights.h" ] ||
		fail "$pc: includedir '$inc' has no s3insights/s3insights.h (file not relocatable?)"
	ldir=$(pkg-config --variable=libdir libs3insights)
	[ -e "$ldir/libs3insights.so" ] || fail "$pc: libdir '$ldir' has no libs3insights.so"
else
	fail "$libdir/pkgconfig/libs3insights.pc is not installed"
fi

# ---------------------------------------------------------------- CMake package
cmdir=$lib/cmake/s3insights
for f in s3insightsConfig.cmake s3insightsConfigVersion.cmake s3insightsTargets.cmake; do
	[ -f "$cmdir/$f" ] || fail "$libdir/cmake/s3insights/$f is not installed"
done

[ "$failures" -eq 0 ] || die "$failures problem(s) with the installed files; not building consumers"

# ---------------------------------------------------------------- consumers
consumer=$src/tests/fixtures/consumer
demo=$src/examples/s3i_demo.c
cflags_strict="-std=c11 -Wall -Wextra -Werror -pedantic $extra"

# The binary resolves libs3insights from the temporary prefix, not from anywhere else.
# $2: the LD_LIBRARY_PATH it runs with (none when the link recorded a run path).
uses_prefix_lib() {
	LD_LIBRARY_PATH=${2:-} ldd "$1" | grep -q "$soname => $lib/$soname" ||
		{ LD_LIBRARY_PATH=${2:-} ldd "$1"; fail "$(basename "$1") does not load $soname from $lib"; }
}
is_static_build() {
	readelf -d "$1" | grep -q "NEEDED.*libs3insights" &&
		fail "$(basename "$1") needs libs3insights.so although it was linked statically"
	return 0
}
run() {
	name=$1; shift
	out=$tmp/run-$(printf '%s' "$name" | tr / _).out
	"$@" >"$out" 2>&1 || { cat "$out"; fail "$name did not run successfully"; return 0; }
	step "$name: $(head -n 1 "$out")"
}

step "building the consumer with pkg-config (shared)"
pc_dir=$tmp/pkgconfig-build
mkdir -p "$pc_dir"
# shellcheck disable=SC2046,SC2086 # word splitting of the flags is intended
if "$cc" $cflags_strict -o "$pc_dir/consumer" "$consumer/consumer.c" \
	$(pkg-config --cflags --libs libs3insights) >"$tmp/pc.log" 2>&1; then
	uses_prefix_lib "$pc_dir/consumer" "$lib"
	run pkg-config/consumer env LD_LIBRARY_PATH="$lib" "$pc_dir/consumer"
else
	cat "$tmp/pc.log"; fail "the consumer does not build with pkg-config --cflags --libs libs3insights"
fi

step "building the consumer with pkg-config --static"
# Both libraries sit in one directory and -ls3insights would pick the shared one: ask the
# linker for the archive there. The archive's needs must be covered by the .pc file's own
# Requires.private and Libs.private: those dependencies are linked as shared libraries, since
# the distribution's libcurl does not ship the static archives of its own dependencies
# (nghttp2, ssh2, ldap...) that a fully static link would need.
private_reqs=$(pkg-config --print-requires-private libs3insights | awk '{print $1}' | tr '\n' ' ')
libs_private=$(sed -n 's/^Libs\.private:[[:space:]]*//p' "$pc")
# shellcheck disable=SC2046,SC2086
if "$cc" $cflags_strict -o "$pc_dir/consumer_static" "$consumer/consumer.c" \
	$(pkg-config --static --cflags libs3insights) \
	$(pkg-config --libs libs3insights | sed 's/-ls3insights\b/-Wl,-Bstatic -ls3insights -Wl,-Bdynamic/') \
	$(pkg-config --libs $private_reqs) $libs_private >"$tmp/pcs.log" 2>&1; then
	is_static_build "$pc_dir/consumer_static"
	run pkg-config-static/consumer "$pc_dir/consumer_static"
else
	cat "$tmp/pcs.log"
	fail "the consumer does not link with libs3insights.a and the .pc file's Requires.private ($private_reqs) and Libs.private ($libs_private)"
fi

step "building examples/s3i_demo.c with pkg-config"
# shellcheck disable=SC2046
# (compiler's default dialect: the example uses POSIX calls and does not ask for them itself)
# shellcheck disable=SC2086
if "$cc" -Wall $extra -o "$pc_dir/s3i_demo" "$demo" $(pkg-config --cflags --libs libs3insights) \
	>"$tmp/demo.log" 2>&1; then
	run pkg-config/s3i_demo--help env LD_LIBRARY_PATH="$lib" "$pc_dir/s3i_demo" --help
else
	cat "$tmp/demo.log"; fail "examples/s3i_demo.c does not build with pkg-config"
fi

step "building the consumer and examples/s3i_demo.c with find_package(s3insights)"
cm_dir=$tmp/cmake-build
if "$cmake" -S "$consumer" -B "$cm_dir" -DCMAKE_PREFIX_PATH="$prefix" -DS3I_DEMO_SOURCE="$demo" \
	-DCMAKE_C_COMPILER="$cc" -DCMAKE_C_FLAGS="-Wall -Wextra -Werror $extra" -DCMAKE_EXE_LINKER_FLAGS="$extra" \
	-DCMAKE_BUILD_TYPE=Release \
	>"$tmp/cmake.log" 2>&1 &&
	"$cmake" --build "$cm_dir" >>"$tmp/cmake.log" 2>&1; then
	grep -q "s3insights_DIR:PATH=$cmdir" "$cm_dir/CMakeCache.txt" ||
		fail "find_package(s3insights) did not pick the package in $cmdir"
	uses_prefix_lib "$cm_dir/consumer_shared"
	is_static_build "$cm_dir/consumer_static"
	run find_package/consumer_shared "$cm_dir/consumer_shared"
	run find_package/consumer_static "$cm_dir/consumer_static"
	run find_package/s3i_demo--help "$cm_dir/s3i_demo" --help
else
	cat "$tmp/cmake.log"; fail "the consumer does not build with find_package(s3insights)"
fi

[ "$failures" -eq 0 ] || die "$failures problem(s)"
echo "check_install: ok (headers, shared + static libraries, pkg-config, CMake package, 5 consumer builds)"
