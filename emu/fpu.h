// The x87, SSE and MXCSR state as an FXSAVE image, read from and written to Unicorn's
// registers in one call each.
#ifndef VEMU_FPU_H
#define VEMU_FPU_H

#include <stdint.h>
#include <unicorn/unicorn.h>

// vemu_fxsave fills img[0:512] with the FXSAVE (64-bit format) image of the engine's state.
uc_err vemu_fxsave(uc_engine *uc, uint8_t *img);

// vemu_fxrstor loads the engine's state from the FXSAVE image img[0:512].
uc_err vemu_fxrstor(uc_engine *uc, const uint8_t *img);

#endif
