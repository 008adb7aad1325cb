#!/usr/bin/env python3
"""Build the Lambda deployment zip: bootstrap at the root, and in lib/ every shared library it
loads that is not part of glibc, which Amazon Linux 2023 provides. Prints the size.

A bootstrap for this machine's architecture is asked which libraries it loads (ldd). One
cross-compiled for another (arm64 on an x86_64 host) cannot run here without an emulator, so
its NEEDED entries are followed with readelf, through the directories where Debian's multiarch
packages keep that architecture's libraries."""
import os
import re
import subprocess
import sys
import zipfile

# Part of glibc: present on provided.al2023, never shipped.
GLIBC = re.compile(r"^(libc|libm|libpthread|libdl|librt|libresolv|libutil|ld-linux[-\w]*|linux-vdso)\.so")

# ELF e_machine -> (Lambda's name for the architecture, Debian's multiarch triplet)
MACHINES = {62: ("x86_64", "x86_64-linux-gnu"), 183: ("arm64", "aarch64-linux-gnu")}


def elf_machine(path):
	with open(path, "rb") as f:
		head = f.read(20)
	if head[:4] != b"\x7fELF":
		sys.exit(f"package.py: {path} is not an ELF file")
	order = "little" if head[5] == 1 else "big"
	return int.from_bytes(head[18:20], order)


def host_machine():
	return elf_machine(sys.executable if os.path.exists(sys.executable) else "/bin/sh")


def loaded_libraries(binary):
	out = subprocess.run(["ldd", binary], check=True, capture_output=True, text=True).stdout
	libs = []
	for line in out.splitlines():
		m = re.match(r"\s*(\S+) => (\S+)", line)
		if not m:
			continue
		name, path = m.groups()
		if path == "not":
			sys.exit(f"package.py: {binary} needs {name}, which is not found")
		if not GLIBC.match(name):
			libs.append((name, os.path.realpath(path)))
	return libs


def needed(path):
	dyn = subprocess.run(["readelf", "-W", "-d", path], check=True, capture_output=True,
		text=True).stdout
	return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", dyn)


def needed_libraries(binary, triplet):
	"""NEEDED entries, transitively, found in the architecture's multiarch directories."""
	dirs = [f"/lib/{triplet}", f"/usr/lib/{triplet}"]
	found, queue = {}, list(needed(binary))
	while queue:
		name = queue.pop(0)
		if name in found or GLIBC.match(name):
			continue
		path = next((os.path.join(d, name) for d in dirs if os.path.exists(os.path.join(d, name))), None)
		if path is None:
			sys.exit(f"package.py: {binary} needs {name}, found in none of {', '.join(dirs)}")
		found[name] = os.path.realpath(path)
		queue.extend(needed(path))
	return sorted(found.items())


def main():
	binary, out = sys.argv[1], sys.argv[2]
	machine = elf_machine(binary)
	if machine not in MACHINES:
		sys.exit(f"package.py: {binary}: ELF machine {machine} is neither x86_64 nor arm64")
	arch, triplet = MACHINES[machine]
	libs = loaded_libraries(binary) if machine == host_machine() else needed_libraries(binary, triplet)
	os.makedirs(os.path.dirname(out), exist_ok=True)
	tmp = out + ".tmp"
	with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
		def add(path, arcname):
			info = zipfile.ZipInfo(arcname, date_time=(2020, 1, 1, 0, 0, 0))
			info.external_attr = (0o100755 << 16)
			info.compress_type = zipfile.ZIP_DEFLATED
			with open(path, "rb") as f:
				z.writestr(info, f.read())
		add(binary, "bootstrap")
		for name, path in sorted(libs):
			add(path, "lib/" + name)
	os.replace(tmp, out)
	print(f"{out}: {arch}, {os.path.getsize(out)} bytes ({os.path.getsize(out) / 1048576:.1f} MiB)")


if __name__ == "__main__":
	main()
