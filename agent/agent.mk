# agent/: nothing is built here yet.
