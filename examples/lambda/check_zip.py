#!/usr/bin/env python3
"""Check the Lambda zip's binaries for provided.al2023: no GLIBC_ symbol version above 2.34
(Amazon Linux 2023's glibc), and every NEEDED library part of glibc or shipped in the zip."""
import os
import re
import subprocess
import sys
import tempfile
import zipfile

MAX_GLIBC = (2, 34)
GLIBC = re.compile(r"^(libc|libm|libpthread|libdl|librt|libresolv|libutil|ld-linux[-\w]*)\.so")


def main():
	zpath = sys.argv[1]
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
			ver = subprocess.run(["readelf", "-W", "--version-info", p], check=True,
				capture_output=True, text=True).stdout
			for m in sorted(set(re.findall(r"GLIBC_(\d+)\.(\d+)", ver))):
				if (int(m[0]), int(m[1])) > MAX_GLIBC:
					syms = subprocess.run(["objdump", "-T", p], check=True, capture_output=True,
						text=True).stdout
					who = sorted({l.split()[-1] for l in syms.splitlines() if f"GLIBC_{m[0]}.{m[1]}" in l})
					problems.append(f"{n}: needs GLIBC_{m[0]}.{m[1]} (> 2.34) for {', '.join(who)}")
			dyn = subprocess.run(["readelf", "-W", "-d", p], check=True, capture_output=True,
				text=True).stdout
			for lib in re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", dyn):
				if not GLIBC.match(lib) and lib not in shipped:
					problems.append(f"{n}: NEEDED {lib} is neither part of glibc nor in the zip")
		# The shipped libraries are the ones loaded ($ORIGIN/lib), and the bootstrap starts
		# with them (it stops at once without AWS_LAMBDA_RUNTIME_API).
		boot = os.path.join(d, "bootstrap")
		if os.path.exists(boot):
			env = {k: v for k, v in os.environ.items()
				if k not in ("AWS_LAMBDA_RUNTIME_API", "LD_LIBRARY_PATH", "LD_PRELOAD")}
			ldd = subprocess.run(["ldd", boot], capture_output=True, text=True, env=env).stdout
			for m in re.finditer(r"^\s*(\S+) => (\S+)", ldd, re.M):
				if m.group(1) in shipped and not os.path.normpath(m.group(2)).startswith(os.path.join(os.path.realpath(d), "lib") + "/"):
					problems.append(f"bootstrap loads {m.group(1)} from {m.group(2)}, not from the zip's lib/")
			run = subprocess.run([boot], capture_output=True, text=True, env=env)
			if run.returncode != 2 or "AWS_LAMBDA_RUNTIME_API" not in run.stderr:
				problems.append(f"bootstrap did not start cleanly: status {run.returncode}: {run.stderr.strip()}")
		print(f"{zpath}: {checked} ELF files checked, {len(shipped)} shipped libraries")
	for p in problems:
		print("FAIL:", p)
	return 1 if problems else 0


if __name__ == "__main__":
	sys.exit(main())
