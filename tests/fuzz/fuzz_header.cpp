// Fuzz target: the QCOW2 header and its extensions, parsed from bytes in
// memory. Any input must give a header or an error, nothing else.
#include <cstdint>
#include <cstdlib>

#include "engine/qcow2/qcow2_header.h"
#include "tests/support/memory_source.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  qflash::test::MemorySource src({data, size});
  auto h = qflash::read_qcow2_header(src);
  if (!h) {
    if (h.error().message.empty()) std::abort();
    return 0;
  }
  // A header that passed validation keeps its promises.
  if (h->cluster_bits < 9 || h->cluster_bits > 21) std::abort();
  if (h->l1_size && h->l1_table_offset + uint64_t(h->l1_size) * 8 > size) std::abort();
  for (unsigned bit = 0; bit < 64; ++bit) (void)h->incompatible_name(bit);
  return 0;
}
