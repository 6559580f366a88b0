// engine/write: the io_uring write engine, one image onto many targets.
//   mass_writer.h  write_image(), its options, progress and report (the entry point)
//   verify.h       verify_target(): read a written target back against its CRCs
//   planner.h      the chunk plan (a pure function of the extents)
//   buffer_pool.h, worker_pool.h, op_queue.h, uring.h: the engine's parts
#pragma once

#include "engine/write/mass_writer.h"
#include "engine/write/verify.h"
