// Instruction-set choice, made once per process (see Note [ISA files]).
//
// Note [ISA files]: only files named *_avx2.cpp / *_avx512.cpp are compiled
// with -mavx2 -mfma / -mavx512f...; everything else is baseline x86-64, so
// importing _cpu never raises SIGILL. ISA files keep their code in their own
// namespace (fastdl::cpu::avx2, ::avx512) with internal-linkage helpers, so no
// inline function is ever emitted twice under different flags.
#pragma once

namespace fastdl {

enum class Isa { generic = 0, avx2 = 1, avx512 = 2 };

const char* isa_name(Isa isa);
bool isa_from_name(const char* name, Isa* out);

// The best ISA this CPU and OS support (CPUID + XGETBV).
Isa isa_supported();

// The ISA in use: isa_supported(), or lower when FASTDL_ISA=generic|avx2 asks.
Isa isa_active();

// Tests only: switch the ISA in use (must be <= isa_supported()).
void isa_force(Isa isa);

}  // namespace fastdl
