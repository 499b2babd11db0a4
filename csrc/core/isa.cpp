// CPUID/XGETBV detection and the FASTDL_ISA override; see isa.h.
#include "isa.h"

#include <atomic>
#include <cpuid.h>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

namespace fastdl {

namespace {

unsigned long long xgetbv0() {
  unsigned eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<unsigned long long>(edx) << 32) | eax;
}

Isa detect() {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return Isa::generic;
  const bool fma = c & (1u << 12), osxsave = c & (1u << 27), avx = c & (1u << 28);
  if (!(fma && osxsave && avx)) return Isa::generic;
  const unsigned long long xcr0 = xgetbv0();
  if ((xcr0 & 0x6) != 0x6) return Isa::generic;  // OS saves XMM and YMM state
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return Isa::generic;
  const bool avx2 = b & (1u << 5);
  if (!avx2) return Isa::generic;
  // AVX-512 F + DQ + BW + VL, and the OS saves opmask and ZMM state.
  const bool avx512 = (b & (1u << 16)) && (b & (1u << 17)) && (b & (1u << 30)) && (b & (1u << 31));
  if (avx512 && (xcr0 & 0xe6) == 0xe6) return Isa::avx512;
  return Isa::avx2;
}

Isa initial() {
  Isa best = detect();
  const char* env = std::getenv("FASTDL_ISA");
  if (env && *env) {
    Isa want;
    if (!isa_from_name(env, &want))
      throw std::invalid_argument(std::string("FASTDL_ISA must be generic, avx2 or avx512, got '") + env + "'");
    if (want < best) best = want;
  }
  return best;
}

std::atomic<int> g_active{-1};

}  // namespace

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::avx512: return "avx512";
    case Isa::avx2: return "avx2";
    default: return "generic";
  }
}

bool isa_from_name(const char* name, Isa* out) {
  for (Isa i : {Isa::generic, Isa::avx2, Isa::avx512})
    if (std::strcmp(name, isa_name(i)) == 0) return *out = i, true;
  return false;
}

Isa isa_supported() {
  static const Isa s = detect();
  return s;
}

Isa isa_active() {
  int v = g_active.load(std::memory_order_relaxed);
  if (v < 0) {
    v = static_cast<int>(initial());
    g_active.store(v, std::memory_order_relaxed);
  }
  return static_cast<Isa>(v);
}

void isa_force(Isa isa) {
  if (isa > isa_supported())
    throw std::invalid_argument(std::string("this CPU does not support ") + isa_name(isa));
  g_active.store(static_cast<int>(isa), std::memory_order_relaxed);
}

}  // namespace fastdl
