# Cross-compiling wgnas-profiler for 64-bit Arm Linux with Debian's cross toolchain
# (g++-aarch64-linux-gnu). The arm64 oneDNN / XNNPACK libraries come from Debian's arm64 packages
# unpacked into WGNAS_SYSROOT (scripts/build-target.sh aarch64 does both):
#   cmake -S . -B build/target/aarch64/cmake -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake \
#         -DWGNAS_SYSROOT=$PWD/build/target/sysroot-aarch64 -DWGNAS_BUILD_ADDON=OFF
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
# try_compile projects (FindOpenMP, the XNNPACK link test) see the sysroot too.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES WGNAS_SYSROOT)
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu ${WGNAS_SYSROOT})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
# The unpacked libraries' own dependencies (libcpuinfo, libpthreadpool) are found through -rpath-link.
if(WGNAS_SYSROOT)
  set(CMAKE_EXE_LINKER_FLAGS_INIT "-Wl,-rpath-link,${WGNAS_SYSROOT}/usr/lib/aarch64-linux-gnu")
endif()
