// fastdl._cpu: the CPU kernels. One bind_<family>() per op family.
#include "arrays.h"

PYBIND11_MODULE(_cpu, m) {
  m.doc() = "fastdl CPU kernels (C++, OpenMP, AVX2/AVX-512 chosen at run time)";
  fastdl::bind::bind_core(m);
  fastdl::bind::bind_matmul(m);
  fastdl::bind::bind_rnn(m);
  fastdl::bind::bind_attention(m);
  fastdl::bind::bind_vmath(m);
  fastdl::bind::bind_act(m);
  fastdl::bind::bind_softmax(m);
  fastdl::bind::bind_loss(m);
  fastdl::bind::bind_norm(m);
  fastdl::bind::bind_optim(m);
  fastdl::bind::bind_dropout(m);
  fastdl::bind::bind_embed(m);
  fastdl::bind::bind_conv(m);
  fastdl::bind::bind_pool(m);
  fastdl::bind::bind_resample(m);
}
