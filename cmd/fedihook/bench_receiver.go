package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The bench receiver is a process of its own, started by bench, so that
// its CPU is not the contenders'. It listens on a loopback port, answers
// every request with 204 over keep-alive connections, and measures the
// latency from each payload's emit time to its receipt. bench drives it
// through its standard input, one command a line, each answered with one
// line on its standard output:
//
//	reset   forget every request so far, and the CPU time used; answers "ok"
//	stats   answers a receiverStats as JSON
//
// It stops when its standard input ends, or after --lifetime.

// maxReceiverBody bounds the body the receiver reads.
const maxReceiverBody = 8 << 20

// receiverStats is what the receiver answers to "stats".
type receiverStats struct {
	// Received counts the requests answered since the last reset.
	Received int64 `json:"received"`
	// Untimed counts those whose payload held no emit time.
	Untimed int64 `json:"untimed"`
	// Latency summarises, for the others, receipt time minus emit time.
	Latency latencies `json:"latency"`
	// CPU is the CPU time the receiver's process used since the reset.
	CPU time.Duration `json:"cpu"`
}

// A benchReceiver is the receiver's handler and tallies.
type benchReceiver struct {
	cpu      time.Duration // processUsage at the last reset
	received atomic.Int64
	untimed  atomic.Int64
	lat      histogram
	bufs     sync.Pool
}

// ServeHTTP reads the request's body, records the latency from the emit
// time it carries, and answers 204 No Content.
func (rc *benchReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	bp, _ := rc.bufs.Get().(*[]byte)
	if bp == nil {
		bp = new([]byte)
	}
	b, err := readRequestBody(r.Body, r.ContentLength, (*bp)[:0])
	now := time.Now().UnixNano()
	ns, ok := emitTime(b)
	if err == nil && ok {
		rc.lat.Record(time.Duration(now - ns))
	} else {
		rc.untimed.Add(1)
	}
	*bp = b[:0]
	rc.bufs.Put(bp)
	rc.received.Add(1)
	w.WriteHeader(http.StatusNoContent)
}

// readRequestBody reads a request body of length n (-1 if unknown) into buf.
func readRequestBody(body io.Reader, n int64, buf []byte) ([]byte, error) {
	if n < 0 || n > maxReceiverBody {
		return io.ReadAll(io.LimitReader(body, maxReceiverBody))
	}
	if int64(cap(buf)) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	_, err := io.ReadFull(body, buf)
	return buf, err
}

// runBenchReceiver is the hidden bench-receiver command.
func runBenchReceiver(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench-receiver", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	lifetime := fs.Duration("lifetime", time.Hour, "stop after `DURATION` whatever happens")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, "Usage: fedihook bench-receiver [--lifetime DURATION]\n\nbench's loopback receiver; bench starts it.\n\nFlags:\n")
			printFlags(stdout, fs)
			return exitOK
		}
		fmt.Fprintf(stderr, "fedihook bench-receiver: %v\n", err)
		return exitUsage
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintf(stderr, "fedihook bench-receiver: %v\n", err)
		return exitFail
	}
	rc := &benchReceiver{}
	srv := &http.Server{
		Handler:           rc,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "listening %s\n", ln.Addr())

	// The reader ends at EOF, which bench's exit or Close gives.
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdin)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	stop := time.NewTimer(*lifetime)
	defer stop.Stop()
	code := exitOK
loop:
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				break loop
			}
			switch line {
			case "reset":
				rc.received.Store(0)
				rc.untimed.Store(0)
				rc.lat.Reset()
				rc.cpu, _ = processUsage()
				fmt.Fprintln(stdout, "ok")
			case "stats":
				cpu, _ := processUsage()
				b, _ := json.Marshal(receiverStats{Received: rc.received.Load(), Untimed: rc.untimed.Load(),
					Latency: rc.lat.Summary(), CPU: cpu - rc.cpu})
				fmt.Fprintf(stdout, "%s\n", b)
			default:
				fmt.Fprintf(stdout, "unknown command %q\n", line)
			}
		case err := <-served:
			fmt.Fprintf(stderr, "fedihook bench-receiver: %v\n", err)
			return exitFail
		case <-stop.C:
			fmt.Fprintf(stderr, "fedihook bench-receiver: stopping after --lifetime %v\n", *lifetime)
			code = exitFail
			break loop
		case <-ctx.Done():
			code = exitFail
			break loop
		}
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	return code
}

// A receiverProc is the receiver's process.
type receiverProc struct {
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Reader
	addr string
}

// startReceiver starts the receiver, which stops by itself after
// lifetime, and returns once it listens.
func startReceiver(ctx context.Context, exe string, lifetime time.Duration, stderr io.Writer) (*receiverProc, error) {
	cmd := exec.CommandContext(ctx, exe, "bench-receiver", "--lifetime", lifetime.String())
	cmd.Env = append(os.Environ(), benchChildEnv+"=1")
	cmd.Stderr = stderr
	cmd.WaitDelay = 10 * time.Second
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	r := &receiverProc{cmd: cmd, in: in, out: bufio.NewReader(out)}
	line, err := r.out.ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening ")
	if err != nil || !ok {
		r.stop()
		return nil, fmt.Errorf("the receiver said %q: %v", line, err)
	}
	r.addr = addr
	return r, nil
}

// command sends the receiver a command and returns its answer.
func (r *receiverProc) command(c string) (string, error) {
	if _, err := fmt.Fprintln(r.in, c); err != nil {
		return "", fmt.Errorf("receiver: %w", err)
	}
	line, err := r.out.ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("receiver: %w", err)
	}
	return strings.TrimSpace(line), nil
}

// stop ends the receiver's input, which stops it, and waits for it.
func (r *receiverProc) stop() {
	r.in.Close()
	_ = r.cmd.Wait()
}
