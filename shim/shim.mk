# shim/: nothing is built here yet.
