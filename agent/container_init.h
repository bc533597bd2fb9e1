/* The re-executed init mode of the agent binary (DESIGN decision 4): what
 * runs when main() sees `init` and the environment marker. Single-threaded,
 * fresh process; talks to the agent over INIT_FD_SOCK (agent/init_proto.h).
 * Returns the process exit code on failure; on success it never returns
 * (the container process replaced it). */
#pragma once

int container_init_main(void);
