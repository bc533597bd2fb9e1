/* The pod's network told to the guest agent: UpdateInterface for each
 * interface (the agent finds the NIC by MAC or PCI path, names it, adds
 * the addresses, sets the MTU and brings it up), then UpdateRoutes, then
 * AddARPNeighbors, one at a time, in that order (routes need their
 * interfaces up; neighbours need their routes), as Kata does before
 * CreateSandbox. A hotplugged NIC shows up in the guest a little after
 * QEMU accepted it, so an UpdateInterface the agent answers with NOT_FOUND
 * is tried again for a while. Glue: protobuf-c inside, shim/network.h
 * structs outside.
 *
 * Runs on the shim's loop through shim/agent_client.h; done() is called
 * exactly once, from the loop (possibly before network_agent_configure()
 * returns, after it stored *ret), unless network_agent_cancel() came first.
 * The network is borrowed and must outlive the operation. */
#pragma once

struct agent_client;
struct loop;
struct network;
struct network_agent;

typedef void (*network_agent_done_fn)(int code, const char *msg, void *userdata);

int network_agent_configure(struct loop *loop, struct agent_client *ac, const struct network *n,
                            network_agent_done_fn done, void *userdata,
                            struct network_agent **ret);
/* done() will not run. NULL-safe. */
void network_agent_cancel(struct network_agent *op);
