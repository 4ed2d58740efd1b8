/* Minimal declarations of the pthreadpool C API, used only when the system lacks pthreadpool.h
 * (Debian ships libpthreadpool0 with libxnnpack-dev, but the header is in libpthreadpool-dev).
 * The symbols come from libpthreadpool.so.0; these three are all wgnas and xnnpack.h need. */
#ifndef WGNAS_COMPAT_PTHREADPOOL_H
#define WGNAS_COMPAT_PTHREADPOOL_H
#include <stddef.h>
#ifdef __cplusplus
extern "C" {
#endif
typedef struct pthreadpool* pthreadpool_t;
pthreadpool_t pthreadpool_create(size_t threads_count);
size_t pthreadpool_get_threads_count(pthreadpool_t threadpool);
void pthreadpool_destroy(pthreadpool_t threadpool);
#ifdef __cplusplus
}
#endif
#endif
