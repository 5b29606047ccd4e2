package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// newFlagSet returns the flag set of the command name: it prints nothing
// and never exits, and parseFlags reports what went wrong.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parseFlags parses args with fs, for a command that takes flags only.
// Asked for help, it prints usage and then fs's flags to stdout and
// returns flag.ErrHelp. Every other error it returns is a usage error:
// a bad flag, named --name as the docs do, or an argument that is not a
// flag, which noArgs explains in parentheses.
func parseFlags(fs *flag.FlagSet, args []string, usage, noArgs string, stdout io.Writer) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, usage)
			printFlags(stdout, fs)
			return err
		}
		// The flag package writes "for flag -name"; the docs say --name.
		return errors.New(strings.Replace(err.Error(), " for flag -", " for --", 1))
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (%s)", fs.Arg(0), noArgs)
	}
	return nil
}

// parsed ends a command whose flags did not parse: asked for help (the
// usage is printed already), it exits 0; otherwise it says why on stderr
// and exits with a usage error. ok means they parsed and the command runs.
func parsed(name string, err error, stderr io.Writer) (code int, ok bool) {
	switch {
	case err == nil:
		return 0, true
	case errors.Is(err, flag.ErrHelp):
		return exitOK, false
	}
	fmt.Fprintf(stderr, "fedihook %s: %v\nRun 'fedihook %s -h' for usage.\n", name, err, name)
	return exitUsage, false
}
