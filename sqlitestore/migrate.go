package sqlitestore

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// migrationFiles holds the schema's versions, migrations/NNNN_name.sql,
// numbered from 1 without gaps. Statements in a file end with a semicolon
// at the end of a line (a trigger's, with a line "END;"); "--" starts a
// comment.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

type migration struct {
	version int
	name    string
	stmts   []string
}

// loadMigrations parses the embedded migrations, in version order.
func loadMigrations() ([]migration, error) {
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	ms := make([]migration, 0, len(names))
	for i, name := range names {
		base := strings.TrimSuffix(path.Base(name), ".sql")
		num, label, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v != i+1 {
			return nil, fmt.Errorf("sqlitestore: migration %s: want name %04d_label.sql", name, i+1)
		}
		src, err := migrationFiles.ReadFile(name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: label, stmts: splitStatements(string(src))})
	}
	return ms, nil
}

// splitStatements splits a migration into statements, dropping comments.
// A CREATE TRIGGER statement ends at a line "END;".
func splitStatements(src string) []string {
	var (
		stmts []string
		cur   strings.Builder
	)
	for line := range strings.Lines(src) {
		if i := strings.Index(line, "--"); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		// A trigger's body holds statements of its own: it ends at END.
		trigger := strings.HasPrefix(strings.ToUpper(cur.String()), "CREATE TRIGGER")
		if (!trigger && strings.HasSuffix(line, ";")) || (trigger && strings.EqualFold(line, "END;")) {
			stmts = append(stmts, strings.TrimSpace(cur.String()))
			cur.Reset()
		}
	}
	if rest := strings.TrimSpace(cur.String()); rest != "" {
		stmts = append(stmts, rest)
	}
	return stmts
}

// Migrate creates the store's tables, or brings them up to this version of
// the package, in one transaction. Versions applied are recorded in the
// table webhook_migrations, so running Migrate again, or from several
// processes at once, is harmless. It fails, changing nothing, if the
// database has a newer schema than this package knows.
//
// In the same transaction, the first Migrate of this Store takes it a
// range of eventIds of its own (see [Store.MintEventIDs]): a Store that
// has not run Migrate works, but enqueues more slowly.
func (s *Store) Migrate(ctx context.Context) error {
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	var ids *eventIDs
	err = s.writeConn(ctx, "migrate", func(q *sql.Conn) error {
		if _, err := q.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS webhook_migrations (
			version    INTEGER PRIMARY KEY,
			name       TEXT    NOT NULL,
			applied_at INTEGER NOT NULL
		)`); err != nil {
			return fmt.Errorf("sqlitestore: migrate: %w", err)
		}
		var current int
		if err := q.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM webhook_migrations`).Scan(&current); err != nil {
			return fmt.Errorf("sqlitestore: migrate: %w", err)
		}
		if current > len(ms) {
			return fmt.Errorf("sqlitestore: migrate: the database's schema version %d is newer than this package's %d", current, len(ms))
		}
		for _, m := range ms[current:] {
			for _, stmt := range m.stmts {
				if _, err := q.ExecContext(ctx, stmt); err != nil {
					return fmt.Errorf("sqlitestore: migrate to version %d (%s): %w", m.version, m.name, err)
				}
			}
			if _, err := q.ExecContext(ctx, `INSERT INTO webhook_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
				m.version, m.name, time.Now().UnixNano()); err != nil {
				return fmt.Errorf("sqlitestore: migrate to version %d (%s): %w", m.version, m.name, err)
			}
		}
		if e := s.ids.Load(); e != nil && e.base != 0 {
			return nil // a range taken by an earlier Migrate
		}
		ids, err = takeRange(ctx, q)
		return err
	})
	if err == nil && ids != nil {
		s.ids.Store(ids)
	}
	return err
}
