// ttrpcpeer is the Go side of the ttRPC interop tests and benchmark: it
// speaks the test service kata.testing.Echo (protos/testing/echo.proto) with
// the upstream Go ttrpc library (Debian's 1.1.1), so that our C client and
// server are checked against the implementation containerd uses.
//
// Built in GOPATH mode, offline (see tests/interop/interop.mk):
//
//	ttrpcpeer server SOCKET        serve Echo until SIGTERM/SIGINT
//	ttrpcpeer benchserver SOCKET   the same
//	ttrpcpeer client SOCKET TEST   run one scenario against a server, exit 0/1
//	ttrpcpeer bench SOCKET CALLERS SIZE SECONDS
//
// Servers print "READY" on stdout once the socket accepts connections, so a
// test can wait on a pipe instead of polling for the socket.
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/containerd/ttrpc"
	"github.com/gogo/protobuf/types"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

const service = "kata.testing.Echo"

// ---- server ----

func echoMethods() map[string]ttrpc.Method {
	return map[string]ttrpc.Method{
		"Echo": func(ctx context.Context, unmarshal func(interface{}) error) (interface{}, error) {
			var req types.BytesValue
			if err := unmarshal(&req); err != nil {
				return nil, err
			}
			return &types.BytesValue{Value: req.Value}, nil
		},
		"Metadata": func(ctx context.Context, unmarshal func(interface{}) error) (interface{}, error) {
			var req types.Empty
			if err := unmarshal(&req); err != nil {
				return nil, err
			}
			return &types.StringValue{Value: metadataLines(ctx)}, nil
		},
		"Sleep": func(ctx context.Context, unmarshal func(interface{}) error) (interface{}, error) {
			var req types.Int64Value
			if err := unmarshal(&req); err != nil {
				return nil, err
			}
			t := time.NewTimer(time.Duration(req.Value) * time.Millisecond)
			defer t.Stop()
			select {
			case <-t.C:
				return &types.Empty{}, nil
			case <-ctx.Done():
				if errors.Is(ctx.Err(), context.DeadlineExceeded) {
					return nil, status.Errorf(codes.DeadlineExceeded, "sleep: %v", ctx.Err())
				}
				return nil, status.Errorf(codes.Canceled, "sleep: %v", ctx.Err())
			}
		},
		"Fail": func(ctx context.Context, unmarshal func(interface{}) error) (interface{}, error) {
			var req types.Int32Value
			if err := unmarshal(&req); err != nil {
				return nil, err
			}
			return nil, status.Errorf(codes.Code(req.Value), "failing with code %d", req.Value)
		},
		// "Unserved" is deliberately absent: it must answer Unimplemented.
	}
}

// metadataLines renders the request metadata as sorted "key=value" lines,
// one per entry (a repeated key gives one line per value), each ending in
// a newline; the C service produces the same text.
func metadataLines(ctx context.Context) string {
	md, _ := ttrpc.GetMetadata(ctx)
	var lines []string
	for k, vs := range md {
		for _, v := range vs {
			lines = append(lines, k+"="+v)
		}
	}
	sort.Strings(lines)
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return b.String()
}

func runServer(sock string) int {
	_ = os.Remove(sock)
	l, err := net.Listen("unix", sock)
	if err != nil {
		fmt.Fprintf(os.Stderr, "ttrpcpeer: listen %s: %v\n", sock, err)
		return 1
	}
	s, err := ttrpc.NewServer()
	if err != nil {
		fmt.Fprintf(os.Stderr, "ttrpcpeer: new server: %v\n", err)
		l.Close()
		return 1
	}
	s.Register(service, echoMethods())

	// The test reads READY and may then close its end of our stdout; a
	// later write must fail with EPIPE rather than kill the server.
	signal.Ignore(syscall.SIGPIPE)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-sigs
		// Close also closes the listener, which unlinks the socket.
		s.Close()
	}()

	fmt.Println("READY")
	if err := s.Serve(context.Background(), l); err != nil && !errors.Is(err, ttrpc.ErrServerClosed) {
		fmt.Fprintf(os.Stderr, "ttrpcpeer: serve: %v\n", err)
		return 1
	}
	return 0
}

// ---- client ----

type checker struct {
	failed bool
}

func (c *checker) check(ok bool, format string, args ...interface{}) {
	verdict := "ok"
	if !ok {
		verdict = "FAIL"
		c.failed = true
	}
	fmt.Printf("%s: %s\n", verdict, fmt.Sprintf(format, args...))
}

func dial(sock string) (*ttrpc.Client, error) {
	conn, err := net.Dial("unix", sock)
	if err != nil {
		return nil, err
	}
	return ttrpc.NewClient(conn), nil
}

// errCode is the gRPC code of a call error; a context deadline that ran out
// on the client side counts as DeadlineExceeded.
func errCode(err error) codes.Code {
	if errors.Is(err, context.DeadlineExceeded) {
		return codes.DeadlineExceeded
	}
	return status.Code(err)
}

func errMessage(err error) string {
	if st, ok := status.FromError(err); ok {
		return st.Message()
	}
	return err.Error()
}

func echo(ctx context.Context, c *ttrpc.Client, payload []byte) ([]byte, error) {
	var resp types.BytesValue
	err := c.Call(ctx, service, "Echo", &types.BytesValue{Value: payload}, &resp)
	return resp.Value, err
}

func scenarioUnary(ck *checker, c *ttrpc.Client) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// The last size leaves room for the envelopes within ttrpc's 4 MiB
	// message limit, so both directions run at the limit.
	for _, size := range []int{0, 1, 100, 64 * 1024, 1024 * 1024, 4<<20 - 1024} {
		payload := make([]byte, size)
		for i := range payload {
			payload[i] = byte(i*7 + size)
		}
		got, err := echo(ctx, c, payload)
		ck.check(err == nil && bytes.Equal(got, payload), "Echo %d bytes -> %d bytes, err=%v", size, len(got), err)
	}
}

func scenarioConcurrent(ck *checker, c *ttrpc.Client) {
	const n = 100
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	var wg sync.WaitGroup
	errs := make([]error, n)
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			// Distinct payloads of distinct sizes, so a reply delivered to the
			// wrong caller cannot go unnoticed.
			payload := []byte(strings.Repeat(fmt.Sprintf("caller-%03d;", i), i+1))
			<-start
			got, err := echo(ctx, c, payload)
			if err == nil && !bytes.Equal(got, payload) {
				err = fmt.Errorf("caller %d got a %d-byte reply that is not its payload", i, len(got))
			}
			errs[i] = err
		}(i)
	}
	close(start)
	wg.Wait()

	okCount := 0
	for i, err := range errs {
		if err == nil {
			okCount++
		} else {
			ck.check(false, "caller %d: %v", i, err)
		}
	}
	ck.check(okCount == n, "%d/%d concurrent Echo calls on one connection answered correctly", okCount, n)
}

func sleepCall(ctx context.Context, c *ttrpc.Client, ms int64) error {
	var resp types.Empty
	return c.Call(ctx, service, "Sleep", &types.Int64Value{Value: ms}, &resp)
}

func scenarioDeadline(ck *checker, sock string) {
	c, err := dial(sock)
	if err != nil {
		ck.check(false, "dial: %v", err)
		return
	}
	defer c.Close()

	// 1. The ordinary way: a context deadline, sent as timeout_nano. The Go
	// client also gives up on its own when the context ends.
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	start := time.Now()
	err = sleepCall(ctx, c, 2000)
	elapsed := time.Since(start)
	cancel()
	ck.check(errCode(err) == codes.DeadlineExceeded, "Sleep(2000ms) with a 200ms deadline -> %v (%v)", errCode(err), err)
	ck.check(elapsed < 1500*time.Millisecond, "it returned after %v (< 1.5s)", elapsed.Round(time.Millisecond))

	// 2. The server's own enforcement: the request carries timeout_nano =
	// 200ms but the client waits up to 10s, so the DeadlineExceeded status
	// must come from the server.
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	shorten := func(ctx context.Context, req *ttrpc.Request, resp *ttrpc.Response, _ *ttrpc.UnaryClientInfo, invoker ttrpc.Invoker) error {
		req.TimeoutNano = int64(200 * time.Millisecond)
		return invoker(ctx, req, resp)
	}
	conn, err := net.Dial("unix", sock)
	if err != nil {
		ck.check(false, "dial: %v", err)
		return
	}
	c3 := ttrpc.NewClient(conn, ttrpc.WithUnaryClientInterceptor(shorten))
	defer c3.Close()
	start = time.Now()
	err = sleepCall(ctx, c3, 2000)
	elapsed = time.Since(start)
	_, isStatus := status.FromError(err)
	ck.check(isStatus && status.Code(err) == codes.DeadlineExceeded,
		"server-enforced timeout_nano=200ms on Sleep(2000ms) -> status %v (%v)", status.Code(err), err)
	ck.check(elapsed < 1500*time.Millisecond, "the server answered after %v (< 1.5s)", elapsed.Round(time.Millisecond))

	// The connection stays usable after a deadline.
	got, err := echo(ctx, c3, []byte("after"))
	ck.check(err == nil && string(got) == "after", "Echo after the deadline -> %q, err=%v", got, err)
}

func scenarioMetadata(ck *checker, c *ttrpc.Client) {
	md := ttrpc.MD{}
	md.Set("zeta", "last")
	md.Set("alpha", "1")
	md.Append("multi", "b", "a")
	md.Set("x-peer", "go")
	ctx, cancel := context.WithTimeout(ttrpc.WithMetadata(context.Background(), md), 10*time.Second)
	defer cancel()

	var resp types.StringValue
	err := c.Call(ctx, service, "Metadata", &types.Empty{}, &resp)
	want := "alpha=1\nmulti=a\nmulti=b\nx-peer=go\nzeta=last\n"
	ck.check(err == nil && resp.Value == want, "Metadata -> %q (want %q), err=%v", resp.Value, want, err)

	// No metadata at all gives an empty string.
	ctx2, cancel2 := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel2()
	var resp2 types.StringValue
	err = c.Call(ctx2, service, "Metadata", &types.Empty{}, &resp2)
	ck.check(err == nil && resp2.Value == "", "Metadata without metadata -> %q, err=%v", resp2.Value, err)
}

func scenarioErrors(ck *checker, c *ttrpc.Client) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, code := range []int32{5, 6, 3, 9} {
		var resp types.Empty
		err := c.Call(ctx, service, "Fail", &types.Int32Value{Value: code}, &resp)
		want := fmt.Sprintf("failing with code %d", code)
		_, isStatus := status.FromError(err)
		ck.check(err != nil && isStatus && status.Code(err) == codes.Code(code) && errMessage(err) == want,
			"Fail(%d) -> code %d %v, message %q", code, status.Code(err), status.Code(err), errMessage(err))
	}
	// The connection is still good after errors.
	got, err := echo(ctx, c, []byte("still here"))
	ck.check(err == nil && string(got) == "still here", "Echo after errors -> %q, err=%v", got, err)
}

func scenarioUnknown(ck *checker, c *ttrpc.Client) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cases := []struct{ svc, method string }{
		{service, "Nope"},
		{"kata.testing.Nope", "Echo"},
		{service, "Unserved"},
	}
	for _, tc := range cases {
		var resp types.Empty
		err := c.Call(ctx, tc.svc, tc.method, &types.Empty{}, &resp)
		ck.check(status.Code(err) == codes.Unimplemented, "%s/%s -> %v (%q)", tc.svc, tc.method, status.Code(err), errMessage(err))
	}
	got, err := echo(ctx, c, []byte("still here"))
	ck.check(err == nil && string(got) == "still here", "Echo after unknown methods -> %q, err=%v", got, err)
}

func runClient(sock, name string) int {
	ck := &checker{}
	if name == "deadline" {
		scenarioDeadline(ck, sock)
	} else {
		c, err := dial(sock)
		if err != nil {
			fmt.Fprintf(os.Stderr, "ttrpcpeer: dial %s: %v\n", sock, err)
			return 1
		}
		defer c.Close()
		switch name {
		case "unary":
			scenarioUnary(ck, c)
		case "concurrent100":
			scenarioConcurrent(ck, c)
		case "metadata":
			scenarioMetadata(ck, c)
		case "errors":
			scenarioErrors(ck, c)
		case "unknown":
			scenarioUnknown(ck, c)
		default:
			fmt.Fprintf(os.Stderr, "ttrpcpeer: unknown scenario %q\n", name)
			return 2
		}
	}
	if ck.failed {
		fmt.Printf("scenario %s: FAILED\n", name)
		return 1
	}
	fmt.Printf("scenario %s: passed\n", name)
	return 0
}

// ---- bench ----

func percentile(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p * float64(len(sorted)-1))
	return float64(sorted[i].Nanoseconds()) / 1000.0
}

func runBench(sock string, callers, size int, seconds float64) int {
	c, err := dial(sock)
	if err != nil {
		fmt.Fprintf(os.Stderr, "ttrpcpeer: dial %s: %v\n", sock, err)
		return 1
	}
	defer c.Close()

	payload := bytes.Repeat([]byte{'x'}, size)
	lat := make([][]time.Duration, callers)
	errs := make([]error, callers)
	stop := time.Now().Add(time.Duration(seconds * float64(time.Second)))
	var wg sync.WaitGroup
	begin := time.Now()
	for i := 0; i < callers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			ctx := context.Background()
			for time.Now().Before(stop) {
				t0 := time.Now()
				got, err := echo(ctx, c, payload)
				if err == nil && len(got) != size {
					err = fmt.Errorf("reply of %d bytes, want %d", len(got), size)
				}
				if err != nil {
					errs[i] = err
					return
				}
				lat[i] = append(lat[i], time.Since(t0))
			}
		}(i)
	}
	wg.Wait()
	total := time.Since(begin)

	var all []time.Duration
	for i := range lat {
		if errs[i] != nil {
			fmt.Fprintf(os.Stderr, "ttrpcpeer: caller %d: %v\n", i, errs[i])
			return 1
		}
		all = append(all, lat[i]...)
	}
	sort.Slice(all, func(a, b int) bool { return all[a] < all[b] })
	fmt.Printf("reqs_per_sec=%.1f p50_us=%.1f p99_us=%.1f\n",
		float64(len(all))/total.Seconds(), percentile(all, 0.50), percentile(all, 0.99))
	return 0
}

func usage() int {
	fmt.Fprintf(os.Stderr, "usage: ttrpcpeer server|benchserver SOCKET\n"+
		"       ttrpcpeer client SOCKET unary|concurrent100|deadline|metadata|errors|unknown\n"+
		"       ttrpcpeer bench SOCKET CALLERS SIZE SECONDS\n")
	return 2
}

func run(args []string) int {
	if len(args) < 2 {
		return usage()
	}
	switch args[0] {
	case "server", "benchserver":
		if len(args) != 2 {
			return usage()
		}
		return runServer(args[1])
	case "client":
		if len(args) != 3 {
			return usage()
		}
		return runClient(args[1], args[2])
	case "bench":
		if len(args) != 5 {
			return usage()
		}
		callers, err1 := strconv.Atoi(args[2])
		size, err2 := strconv.Atoi(args[3])
		seconds, err3 := strconv.ParseFloat(args[4], 64)
		if err1 != nil || err2 != nil || err3 != nil || callers < 1 || size < 0 || seconds <= 0 {
			return usage()
		}
		return runBench(args[1], callers, size, seconds)
	}
	return usage()
}

func main() {
	os.Exit(run(os.Args[1:]))
}
