// Deterministic reductions shared by op families (bias gradients, norms).
//
// Every reduction here has a fixed order that depends only on the shape:
// threads split independent outputs, never one sum.
#pragma once

#include "../core/common.h"

namespace fastdl::cpu {

// out (cols,) = sum over rows of x (rows, cols); x element (i, j) at x[i*rs + j].
// Rows are added in order 0, 1, ..., rows-1 for every column.
template <typename T>
void sum_rows(T* out, const T* x, i64 rows, i64 cols, i64 rs);

}  // namespace fastdl::cpu
