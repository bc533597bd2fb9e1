# shim/: nothing is built here yet.
-include shim/shim-v2.mk
-include shim/kata-runtime/kata-runtime.mk
