// emu_bridge.h: the C interface of emu_bridge.cpp, the CPU emulation of
// the CUDA kernels behind driver_emu.go (build tag cudaemu).
#ifndef ADJOINT_EMU_BRIDGE_H
#define ADJOINT_EMU_BRIDGE_H
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// emu_kernel returns the index of the kernel with the given name and its
// parameter count in *nargs, or -1 for an unknown name.
int emu_kernel(const char *name, int *nargs);
// emu_launch runs kernel k on a gx x gy x gz grid of bx x by blocks, to
// completion, with args[0..nargs) as its 8-byte parameters. It returns 0,
// or -1 for a bad kernel index, -2 for a wrong parameter count, -3 for a
// block of more than 1024 threads.
int emu_launch(int k, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, const uint64_t *args, int nargs);
// emu_alloc returns 256-byte aligned memory, or 0.
uintptr_t emu_alloc(size_t bytes);
void emu_free(uintptr_t p);
void emu_htod(uintptr_t dst, const void *src, size_t bytes);
void emu_dtoh(void *dst, uintptr_t src, size_t bytes);
void emu_memset32(uintptr_t dst, uint32_t v, size_t n);

#ifdef __cplusplus
}
#endif
#endif
