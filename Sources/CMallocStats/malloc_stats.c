#include <malloc.h>
#include "malloc_stats.h"

size_t tf_heap_in_use(void) {
    struct mallinfo2 m = mallinfo2();
    return m.uordblks + m.hblkhd;
}
