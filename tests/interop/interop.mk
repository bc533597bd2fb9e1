# tests/interop/: our C ttRPC and event code against real peers.
#
# The Go peer (tests/interop/go/ttrpcpeer) is built offline in GOPATH mode on
# Debian's Go 1.19 and golang-github-containerd-ttrpc-dev (ttrpc 1.1.1), as in
# docs/facts containerd-recipes §7a: a private GOPATH under $(O) whose
# src/ttrpcpeer is a symlink to the source folder, no module proxy, and a
# private build cache. Without Go or the ttrpc sources (packages golang-go,
# golang-github-containerd-ttrpc-dev) the peer is not built and the interop
# tests skip, naming the missing binary.

GO ?= go
TTRPCPEER := $(O)/tests/interop/ttrpcpeer
TTRPCPEER_SRCS := $(wildcard tests/interop/go/ttrpcpeer/*.go)
INTEROP_GOPATH := $(abspath $(O)/tests/interop/gopath)
INTEROP_GOENV := GO111MODULE=off GOPATH="$(INTEROP_GOPATH):/usr/share/gocode" GOPROXY=off \
	GOFLAGS= GOCACHE="$(abspath $(O)/tests/interop/gocache)" GOTOOLCHAIN=local

INTEROP_GO_OK := $(and $(shell command -v $(GO) 2>/dev/null),\
	$(wildcard /usr/share/gocode/src/github.com/containerd/ttrpc/client.go))
ifneq ($(INTEROP_GO_OK),)
TEST_EXTRA_DEPS += $(TTRPCPEER)
endif

$(TTRPCPEER): $(TTRPCPEER_SRCS)
	@mkdir -p $(INTEROP_GOPATH)/src $(dir $@)
	@ln -sfn $(abspath tests/interop/go/ttrpcpeer) $(INTEROP_GOPATH)/src/ttrpcpeer
	@echo "  GO      $@"
	$(Q)env $(INTEROP_GOENV) $(GO) build -o $(abspath $@) ttrpcpeer

# The tests find the peer through this absolute path (overridable at run
# time with the TTRPCPEER environment variable).
CFLAGS_tests_interop_test_go_ttrpc := -DTTRPCPEER_PATH='"$(abspath $(TTRPCPEER))"'
