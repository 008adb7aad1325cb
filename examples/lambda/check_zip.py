#!/usr/bin/env python3
"""Check the Lambda zip's binaries for provided.al2023: no GLIBC_ symbol version above 2.34
(Amazon Linux 2023's glibc), and every NEEDED library part of glibc or shipped in the zip; then
that the bootstrap loads the zip's libraries and starts.

usage: check_zip.py ZIP [--arch x86_64|arm64] [--emulator PROGRAM]

--arch: the architecture every ELF file in the zip must be built for. A bootstrap for another
architecture than this machine's is started through --emulator, a qemu-user program (qemu-aarch64 for
arm64 on x86_64); without one the start-up checks are left out, and the output says so."""
import os
import re
import subprocess
import sys
import tempfile
import zipfile

MAX_GLIBC = (2, 34)
MACHINES = {62: "x86_64", 183: "arm64"}
GLIBC = re.compile(r"^(libc|libm|libpthread|libdl|librt|libresolv|libutil|ld-linux[-\w]*)\.so")


def elf_machine(path):
	with open(path, "rb") as f:
		head = f.read(20)
	return int.from_bytes(head[18:20], "little" if head[5] == 1 else "big")


def main():
	args = sys.argv[1:]
	zpath, want_arch, emulator = args[0], None, None
	rest = args[1:]
	while rest:
		opt, val, rest = rest[0], rest[1], rest[2:]
		if opt == "--arch":
			want_arch = val
		elif opt == "--emulator":
			emulator = val
		else:
			sys.exit(f"check_zip.py: unknown option {opt}")
	host_arch = MACHINES.get(elf_machine(sys.executable))
	problems = []
	with tempfile.TemporaryDirectory() as d:
		with zipfile.ZipFile(zpath) as z:
			names = z.namelist()
			z.extractall(d)
			# extractall drops the modes; Lambda keeps them, and bootstrap must be executable.
			for info in z.infolist():
				mode = (info.external_attr >> 16) & 0o777
				if info.filename == "bootstrap" and not mode & 0o100:
					problems.append("bootstrap is not executable in the zip")
				if mode:
					os.chmod(os.path.join(d, info.filename), mode)
		if "bootstrap" not in names:
			problems.append("no bootstrap at the root of the zip")
		shipped = {os.path.basename(n) for n in names if n.startswith("lib/")}
		checked = 0
		for n in names:
			p = os.path.join(d, n)
			with open(p, "rb") as f:
				if f.read(4) != b"\x7fELF":
					continue
			checked += 1
			arch = MACHINES.get(elf_machine(p), "unknown")
			if want_arch and arch != want_arch:
				problems.append(f"{n}: built for {arch}, not {want_arch}")
			ver = subprocess.run(["readelf", "-W", "--version-info", p], check=True,
				capture_output=True, text=True).stdout
			for m in sorted(set(re.findall(r"GLIBC_(\d+)\.(\d+)", ver))):
				if (int(m[0]), int(m[1])) > MAX_GLIBC:
					syms = subprocess.run(["readelf", "-W", "--dyn-syms", p], check=True,
						capture_output=True, text=True).stdout
					tag = f"@GLIBC_{m[0]}.{m[1]}"
					who = sorted({w.split("@")[0] for l in syms.splitlines() for w in l.split()
						if tag in w})
					problems.append(f"{n}: needs GLIBC_{m[0]}.{m[1]} (> 2.34) for {', '.join(who)}")
			dyn = subprocess.run(["readelf", "-W", "-d", p], check=True, capture_output=True,
				text=True).stdout
			for lib in re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", dyn):
				if not GLIBC.match(lib) and lib not in shipped:
					problems.append(f"{n}: NEEDED {lib} is neither part of glibc nor in the zip")
		# The shipped libraries are the ones loaded ($ORIGIN/lib), and the bootstrap starts
		# with them (it stops at once without AWS_LAMBDA_RUNTIME_API).
		boot = os.path.join(d, "bootstrap")
		boot_arch = MACHINES.get(elf_machine(boot)) if os.path.exists(boot) else None
		runner = [] if boot_arch == host_arch else [emulator] if emulator else None
		if os.path.exists(boot) and runner is None:
			print(f"{zpath}: a {boot_arch} bootstrap on a {host_arch} machine and no --emulator:"
				" start-up checks left out")
		elif os.path.exists(boot):
			env = {k: v for k, v in os.environ.items()
				if k not in ("AWS_LAMBDA_RUNTIME_API", "LD_LIBRARY_PATH", "LD_PRELOAD")}
			# What ldd does: the dynamic loader lists what it loads instead of starting the
			# program (ldd itself cannot look into a binary of another architecture).
			# Under qemu-user the variable is the guest's (-E), not qemu's own.
			if runner:
				trace = subprocess.run(runner + ["-E", "LD_TRACE_LOADED_OBJECTS=1", boot],
					capture_output=True, text=True, env=env)
			else:
				trace = subprocess.run([boot], capture_output=True, text=True,
					env=dict(env, LD_TRACE_LOADED_OBJECTS="1"))
			ldd = trace.stdout
			for m in re.finditer(r"^\s*(\S+) => (\S+)", ldd, re.M):
				if m.group(1) in shipped and not os.path.normpath(m.group(2)).startswith(os.path.join(os.path.realpath(d), "lib") + "/"):
					problems.append(f"bootstrap loads {m.group(1)} from {m.group(2)}, not from the zip's lib/")
			if not re.search(r"^\s*libcurl\.so\S* => ", ldd, re.M):
				problems.append(f"the loader's list of what bootstrap loads has no libcurl: {ldd.strip()}")
			run = subprocess.run(runner + [boot], capture_output=True, text=True, env=env)
			if run.returncode != 2 or "AWS_LAMBDA_RUNTIME_API" not in run.stderr:
				problems.append(f"bootstrap did not start cleanly: status {run.returncode}: {run.stderr.strip()}")
		print(f"{zpath}: {checked} ELF files checked ({boot_arch}), {len(shipped)} shipped libraries")
	for p in problems:
		print("FAIL:", p)
	return 1 if problems else 0


if __name__ == "__main__":
	sys.exit(main())
