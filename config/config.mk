# config/: nothing is built here yet.
