#ifndef TICKETFLOW_MALLOC_STATS_H
#define TICKETFLOW_MALLOC_STATS_H
#include <stddef.h>

/// Bytes glibc's allocator has handed out and not taken back (small blocks plus mmapped ones).
/// Used by ticketflow-bench to measure memory per ticket and per timer.
size_t tf_heap_in_use(void);

#endif
