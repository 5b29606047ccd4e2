// Command fedihook drives the github.com/fedihook/webhook library from the
// command line, to try a webhook receiver by hand.
//
// Usage:
//
//	fedihook <command> [flags]
//	fedihook help [command]
//
// # Commands
//
// send posts one Misskey-compatible webhook to a URL, with the exact
// headers and body Misskey sends, and retries it on Misskey's schedule:
//
//	fedihook send --url URL --event EVENT [--secret S] [--signing-secret WHSEC]
//	    [--host HOST] [--user-id ID] [--hook-id ID] [--body FILE] [--attempts N]
//	    [--backoff-base DURATION] [--allow-network CIDR ...]
//
// The body is Misskey's test-send dummy body for the event unless --body
// names a file holding a JSON object ("-" reads standard input). A system
// event (abuseReport, userCreated, ...) goes through a system webhook, so
// its payload has no userId. X-Misskey-Host defaults to "fedihook.local",
// and the payload's server to "https://" + that host. The private-network
// guard is on, as in the library: a receiver on loopback or a private
// network is refused unless an --allow-network rule (repeatable; a CIDR or
// address, optionally with a port, such as 127.0.0.0/8 or
// 10.0.0.5/32:8080) lets it through. --attempts (default 4) and
// --backoff-base (default 60s; the wait before retry n is (2^n-1) times
// it, plus up to 20% jitter) shorten Misskey's schedule so that a
// receiver's retry handling can be tried in seconds. --signing-secret (a
// "whsec_..." secret) adds the Standard Webhooks signature headers
// beside X-Misskey-Hook-Secret.
//
// send prints one line per attempt to standard output, such as
//
//	attempt 1: 503 Service Unavailable in 2.1ms, retrying in 1.1s
//	attempt 2: 204 No Content in 1.4ms
//	delivered (eventId 0b6f2a5e-...)
//
// and ends with "delivered" or "gave up: REASON". A receiver's Retry-After
// is honoured, as by the library (up to 8 hours). Ctrl-C stops waiting.
//
// listen is a receiver to send to: it serves HTTP on a loopback address
// (any address with --public) and checks each request with package verify,
// the secret header against --secret and the signature against each
// --signing-secret, or nothing, with a warning, when given neither:
//
//	fedihook listen [--addr HOST:PORT] [--secret S] [--signing-secret WHSEC ...]
//	    [--max-requests N] [--public]
//
// It prints "listening on http://ADDR" (--addr defaults to
// 127.0.0.1:8080; port 0 picks a free one), then one line per request:
//
//	12:00:01.234 note hookId=a1b2c3 eventId=0b6f2a5e-... ok: @alice: "Hello"
//	12:00:02.345 note hookId=a1b2c3 eventId=0b6f2a5e-... rejected: bad signature (401)
//
// It answers 204 to a good request, and 401, 400, 405 or 413 with the
// reason as package verify does. It runs until interrupted, or until it has
// answered --max-requests requests, then lets requests in flight finish.
//
// bench measures, in one run, the deliveries per second, Emit-to-receipt
// latency, CPU time, allocations and peak RSS of delivery through the
// library with each store, beside a hand-written net/http loop (the
// ceiling), against one loopback receiver it starts:
//
//	fedihook bench [--duration D] [--concurrency N] [--body-size BYTES]
//	    [--hooks N] [--contenders raw,memory,sqlite,postgres] [--rate EVENTS]
//	    [--max-queued N] [--pg-dsn DSN] [--pg-conns N]
//	    [--sqlite-synchronous FULL|NORMAL] [--cpuprofile DIR]
//
// It prints a table, then, as its last line, one JSON object with every
// figure (raw_rps, memory_rps, memory_ratio, memory_p50_ms, ...). Each
// contender runs in a process of its own; postgres uses --pg-dsn (or
// $FEDIHOOK_PG_DSN), else a throwaway local server if it can start one.
// See "fedihook help bench".
//
// # Exit status
//
// 0 when the webhook was delivered, or the benchmark ran with every
// delivery accounted for, or listen was stopped (or help was asked for), 1
// when delivery failed for good, a contender failed, listen could not
// serve, or send or bench was interrupted, 2 for bad usage, with a message
// naming the problem on standard error.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
)

// Exit codes of every command.
const (
	exitOK    = 0 // done: delivered, or help shown
	exitFail  = 1 // the work failed, or was interrupted
	exitUsage = 2 // bad command line
)

// A command is a subcommand of fedihook. Its run gets the arguments after
// the command's name and returns the exit code. Asked for "-h" or
// "--help", it prints its usage to stdout and returns exitOK; "fedihook
// help NAME" relies on that.
type command struct {
	// summary is the one-line description in fedihook's usage.
	summary string
	// run runs the command.
	run func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int
	// hidden leaves the command out of the usage and of help: it is
	// one of bench's child processes, not for people to run.
	hidden bool
}

// commands are fedihook's subcommands by name. Each lives in its own file;
// add a new one here.
var commands = map[string]command{
	"send":           {summary: "send one webhook to a URL and report each attempt", run: runSend},
	"listen":         {summary: "receive webhooks, verify them and print one line per request", run: runListen},
	"bench":          {summary: "measure deliveries/s and latency: raw HTTP, memory, sqlite, postgres", run: runBench},
	"bench-receiver": {summary: "bench's loopback receiver", run: runBenchReceiver, hidden: true},
	"bench-run":      {summary: "one contender of bench", run: runBenchRun, hidden: true},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run runs fedihook with args (without the program name) and returns the
// exit code. Cancelling ctx interrupts the command.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	name, rest := args[0], args[1:]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(rest) == 0 {
			usage(stdout)
			return exitOK
		}
		c, ok := commands[rest[0]]
		if !ok || c.hidden || len(rest) > 1 {
			fmt.Fprintf(stderr, "fedihook help: unknown command %q\nRun 'fedihook help' for usage.\n", strings.Join(rest, " "))
			return exitUsage
		}
		return c.run(ctx, []string{"-h"}, stdin, stdout, stderr)
	}
	c, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "fedihook: unknown command %q\nRun 'fedihook help' for usage.\n", name)
		return exitUsage
	}
	return c.run(ctx, rest, stdin, stdout, stderr)
}

// usage prints fedihook's usage and its commands to w.
func usage(w io.Writer) {
	fmt.Fprint(w, "fedihook sends Misskey-compatible webhooks with github.com/fedihook/webhook.\n\n")
	fmt.Fprint(w, "Usage:\n\n\tfedihook <command> [flags]\n\tfedihook help [command]\n\nCommands:\n\n")
	names := make([]string, 0, len(commands))
	for n, c := range commands {
		if !c.hidden {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	for _, n := range names {
		fmt.Fprintf(w, "\t%-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprint(w, "\nRun 'fedihook help <command>' for a command's flags.\n")
	fmt.Fprint(w, "Exit status: 0 done, 1 failed or interrupted, 2 bad usage.\n")
}

// printFlags prints the flags of fs to w in the --name PLACEHOLDER form
// the docs use, each with its usage and its default when it has one.
func printFlags(w io.Writer, fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		arg, help := flag.UnquoteUsage(f)
		fmt.Fprintf(w, "  --%s", f.Name)
		if arg != "" {
			fmt.Fprintf(w, " %s", arg)
		}
		fmt.Fprintf(w, "\n    \t%s", help)
		if d := f.DefValue; d != "" && d != "0" && d != "false" && d != "[]" {
			fmt.Fprintf(w, " (default %s)", d)
		}
		fmt.Fprintln(w)
	})
}
