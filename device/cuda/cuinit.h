// cuinit.h: see cuinit.c.
#ifndef ADJOINT_CUINIT_H
#define ADJOINT_CUINIT_H

// adjoint_cu_init_result is the driver's answer to the first cuInit, or
// CUDA_ERROR_NOT_INITIALIZED (3) when cuInit has not been called.
int adjoint_cu_init_result(void);
// adjoint_cu_error_name is the driver's name for a CUresult, such as
// "CUDA_ERROR_NO_DEVICE", or NULL when the driver does not know it.
const char *adjoint_cu_error_name(int code);

#endif
