# Cross-compiling for 64-bit Arm Linux (the Lambda zip for arm64 functions) on a Debian host
# with multiarch: `dpkg --add-architecture arm64`, then gcc-aarch64-linux-gnu and the arm64
# -dev packages (libcurl4-openssl-dev:arm64 libssl-dev:arm64 libyajl-dev:arm64
# libexpat1-dev:arm64 zlib1g-dev:arm64). examples/lambda/build-arm64.sh does all of it.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
# Debian keeps arm64 libraries and headers beside the host's, under aarch64-linux-gnu
# directories: CMake searches those once it knows the library architecture.
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
# Only the arm64 .pc files, never the host's.
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")
# Runs the target's test programs (and check_zip.py's start-up check) where qemu-user exists.
find_program(S3I_QEMU_AARCH64 qemu-aarch64)
if(S3I_QEMU_AARCH64)
	set(CMAKE_CROSSCOMPILING_EMULATOR ${S3I_QEMU_AARCH64})
endif()
