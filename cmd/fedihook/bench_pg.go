package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// A throwaway PostgreSQL server for bench's postgres contender when no
// DSN is given, made by the steps of the repository's .ci/pg.sh: a new
// cluster in a temporary directory, listening on a Unix socket there only
// (no TCP port), fsync and synchronous_commit on, as durable as in
// production. initdb, pg_ctl and postgres must be on the PATH; as root,
// they run as the "postgres" OS user, which must exist.

// pgServerOptions are the server's settings, those of .ci/pg.sh.
var pgServerOptions = []string{
	"listen_addresses=",
	"fsync=on", "synchronous_commit=on", "full_page_writes=on",
	"max_connections=200", "shared_buffers=256MB", "work_mem=8MB",
	"wal_buffers=16MB", "max_wal_size=2GB", "checkpoint_timeout=15min",
	"log_min_messages=warning", "log_min_error_statement=panic",
}

// A pgServer is a throwaway PostgreSQL server.
type pgServer struct {
	dir     string
	asUser  []string // the runuser prefix, or nothing
	dsn     string
	version string
}

// startPostgres starts a throwaway server and returns it; the caller
// must Stop it. The error says why none could be started.
func startPostgres(ctx context.Context) (*pgServer, error) {
	for _, cmd := range []string{"initdb", "pg_ctl", "postgres"} {
		if _, err := exec.LookPath(cmd); err != nil {
			return nil, fmt.Errorf("%s is not on the PATH", cmd)
		}
	}
	s := &pgServer{}
	uid, gid := -1, -1
	if os.Geteuid() == 0 {
		// PostgreSQL refuses to run as root.
		if _, err := exec.LookPath("runuser"); err != nil {
			return nil, errors.New("running as root, and runuser is not on the PATH")
		}
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, errors.New(`running as root, and there is no "postgres" OS user to run the server as`)
		}
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
		s.asUser = []string{"runuser", "-u", "postgres", "--"}
	}
	// A short path: the socket's full name must fit in 107 bytes.
	dir, err := os.MkdirTemp("/tmp", "fedihook-bench-pg.")
	if err != nil {
		return nil, err
	}
	s.dir = dir
	if uid >= 0 {
		if err := os.Chmod(dir, 0o755); err != nil {
			s.Stop()
			return nil, err
		}
		if err := os.Chown(dir, uid, gid); err != nil {
			s.Stop()
			return nil, err
		}
	}
	data := filepath.Join(dir, "data")
	if out, err := s.run(ctx, nil, "initdb", "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8",
		"--locale=C", "--no-sync"); err != nil {
		s.Stop()
		return nil, fmt.Errorf("initdb: %v: %s", err, lastLines(out))
	}
	const db, port = "fedihook", "5432"
	if out, err := s.run(ctx, strings.NewReader(`CREATE DATABASE "`+db+`";`+"\n"),
		"postgres", "--single", "-D", data, "postgres"); err != nil {
		s.Stop()
		return nil, fmt.Errorf("creating the database: %v: %s", err, lastLines(out))
	}
	opts := "-k " + dir + " -p " + port
	for _, o := range pgServerOptions {
		opts += " -c " + o
	}
	if out, err := s.run(ctx, nil, "pg_ctl", "-D", data, "-l", filepath.Join(dir, "server.log"), "-o", opts,
		"-w", "-t", "60", "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "server.log"))
		s.Stop()
		return nil, fmt.Errorf("pg_ctl start: %v: %s %s", err, lastLines(out), lastLines(log))
	}
	s.dsn = "postgres://postgres@/" + db + "?host=" + dir + "&port=" + port + "&sslmode=disable"
	if out, err := exec.CommandContext(ctx, "postgres", "--version").Output(); err == nil {
		s.version = strings.TrimSpace(string(out))
	}
	return s, nil
}

// run runs a PostgreSQL program as the server's user, from "/" (which
// that user can read), and returns what it printed.
func (s *pgServer) run(ctx context.Context, stdin io.Reader, name string, args ...string) ([]byte, error) {
	argv := append(append(append([]string(nil), s.asUser...), name), args...)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = "/"
	cmd.Stdin = stdin
	return cmd.CombinedOutput()
}

// Stop stops the server, if it runs, and removes its files. It keeps
// them when the server would not stop, for its log.
func (s *pgServer) Stop() {
	if s == nil || s.dir == "" {
		return
	}
	data := filepath.Join(s.dir, "data")
	if _, err := os.Stat(filepath.Join(data, "postmaster.pid")); err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		_, _ = s.run(ctx, nil, "pg_ctl", "-D", data, "-m", "fast", "-w", "-t", "60", "stop")
	}
	if _, err := os.Stat(filepath.Join(data, "postmaster.pid")); err != nil {
		os.RemoveAll(s.dir)
	}
	s.dir = ""
}

// lastLines returns the last few lines of a program's output, for an
// error message.
func lastLines(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(len(lines)-5, 0):], " | ")
}
