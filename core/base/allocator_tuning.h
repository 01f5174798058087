// glibc malloc serves every block over 128 KiB with a fresh mmap and returns it with munmap
// on free, so each large temporary tensor costs page faults on every use. Tensor-heavy
// processes keep such blocks on the heap instead: measured on `seamless bench model`, full
// forward at batch 64 went from 0.31 to 0.45 of the matmul ceiling with this alone.
#ifndef SEAMLESS_CORE_BASE_ALLOCATOR_TUNING_H_
#define SEAMLESS_CORE_BASE_ALLOCATOR_TUNING_H_

namespace seamless {

// Raises the mmap threshold to its 32 MiB maximum and keeps up to 512 MiB of freed memory
// for reuse. Call once, early in main(). Respects MALLOC_* variables a user has set.
void TuneAllocatorForTensors();

}  // namespace seamless

#endif  // SEAMLESS_CORE_BASE_ALLOCATOR_TUNING_H_
