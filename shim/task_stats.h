/* containerd's Stats answer from the agent's StatsContainerResponse: an Any
 * of io.containerd.cgroups.v1.Metrics or io.containerd.cgroups.v2.Metrics,
 * chosen by the HOST's cgroup mode as Kata does (CRI reads the one that
 * matches the node). Glue (protobuf in and out); pure, any thread. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Is /sys/fs/cgroup a cgroup2 mount (unified mode)? */
bool task_stats_host_is_v2(void);

/* agent_response: a Grpc__StatsContainerResponse. Returns the packed
 * Metrics (malloc'ed, *ret_len bytes) and its type URL. */
uint8_t *task_stats_pack(const void *agent_response, bool v2, size_t *ret_len,
                         const char **ret_type_url);
