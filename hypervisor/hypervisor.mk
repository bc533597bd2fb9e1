# hypervisor/: nothing is built here yet.
