package pgstore

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// A migration is one numbered step of the schema.
type migration struct {
	version int
	name    string
	sql     string // with ${s} still in it
}

// migrations returns the shipped migrations in order. Their files are
// named NNNN_description.sql, numbered from 1 without gaps.
func migrations() ([]migration, error) {
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for i, name := range names { // Glob sorts
		base := path.Base(name)
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v != i+1 {
			return nil, fmt.Errorf("pgstore: migration file %s: want number %04d", base, i+1)
		}
		b, err := migrationFiles.ReadFile(name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: strings.TrimSuffix(base, ".sql"), sql: string(b)})
	}
	return ms, nil
}

// SchemaVersion is the version the shipped migrations bring the schema
// to; [Store.Migrate] records it in the fedihook_schema_migrations table.
const SchemaVersion = 4

// sqlLockMigrate serialises Migrate calls on one schema, across
// processes, until the end of the transaction.
const sqlLockMigrate = `SELECT pg_advisory_xact_lock(hashtextextended('fedihook.migrate:' || coalesce(nullif($1, ''), current_schema(), ''), 0))`

const sqlMigrationsTable = `
CREATE TABLE IF NOT EXISTS ${s}fedihook_schema_migrations (
	version    integer PRIMARY KEY,
	name       text NOT NULL,
	applied_at timestamptz NOT NULL DEFAULT now()
)`

const sqlMigrationVersions = `SELECT version FROM ${s}fedihook_schema_migrations ORDER BY version`

const sqlRecordMigration = `INSERT INTO ${s}fedihook_schema_migrations (version, name) VALUES ($1, $2)`

// Migrate creates the store's tables, or brings them up to date, by
// applying in one transaction the migrations shipped with this package
// that the database has not recorded yet. It is idempotent, and safe to
// run from several processes at once: they take turns on an advisory
// lock, and all but the first find nothing to do. It refuses a database
// whose schema is newer than this package knows.
func (s *Store) Migrate(ctx context.Context) error {
	return s.migrate(ctx, SchemaVersion)
}

// migrate applies the migrations up to version upTo.
func (s *Store) migrate(ctx context.Context, upTo int) error {
	all, err := migrations()
	if err != nil {
		return err
	}
	ms := all[:min(upTo, len(all))]
	r := strings.NewReplacer("${s}", s.prefix())
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, sqlLockMigrate, s.schema); err != nil {
			return err
		}
		if s.schema != "" {
			if _, err := tx.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{s.schema}.Sanitize()); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, s.sql.migrationsTable); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, s.sql.migrationVersions)
		if err != nil {
			return err
		}
		applied, err := pgx.CollectRows(rows, pgx.RowTo[int32])
		if err != nil {
			return err
		}
		done := map[int]bool{}
		for _, v := range applied {
			if int(v) > len(all) {
				return fmt.Errorf("schema version %d is newer than this pgstore knows (%d)", v, len(all))
			}
			done[int(v)] = true
		}
		for _, m := range ms {
			if done[m.version] {
				continue
			}
			if _, err := tx.Exec(ctx, r.Replace(m.sql)); err != nil {
				return fmt.Errorf("migration %s: %w", m.name, err)
			}
			if _, err := tx.Exec(ctx, s.sql.recordMigration, m.version, m.name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("pgstore: migrating: %w", err)
	}
	return nil
}

// prefix is what qualifies the store's table names: `"schema".` or "".
func (s *Store) prefix() string {
	if s.schema == "" {
		return ""
	}
	return pgx.Identifier{s.schema}.Sanitize() + "."
}
