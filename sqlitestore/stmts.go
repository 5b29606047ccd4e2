package sqlitestore

import (
	"context"
	"database/sql"
	"strings"
)

// A runner runs the Store's statements, on the database or in a
// transaction (the Store's own, or the caller's for a TxOutbox), through
// the Store's prepared statements once they are ready: SQLite's parser
// costs more than most of the statements it parses.
type runner struct {
	s  *Store
	tx *sql.Tx // nil: on the database
}

// stmt returns the prepared statement for query, bound to r's
// transaction, or nil if there is none.
func (r runner) stmt(ctx context.Context, query string) *sql.Stmt {
	m := r.s.stmts.Load()
	if m == nil {
		return nil
	}
	st := (*m)[query]
	if st == nil || r.tx == nil {
		return st
	}
	return r.tx.StmtContext(ctx, st)
}

func (r runner) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := r.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	if r.tx != nil {
		return r.tx.ExecContext(ctx, query, args...)
	}
	return r.s.db.ExecContext(ctx, query, args...)
}

func (r runner) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := r.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	if r.tx != nil {
		return r.tx.QueryContext(ctx, query, args...)
	}
	return r.s.db.QueryContext(ctx, query, args...)
}

func (r runner) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	if st := r.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	if r.tx != nil {
		return r.tx.QueryRowContext(ctx, query, args...)
	}
	return r.s.db.QueryRowContext(ctx, query, args...)
}

// maxRows is the most rows one multi-row statement takes: within
// SQLite's historic limit of 999 parameters at 11 per row (704).
const maxRows = 64

// bucket rounds n (1 <= n <= maxRows) up to a power of two, so that
// multi-row statements come in a few sizes that can stay prepared. The
// rows added are all NULL and match nothing.
func bucket(n int) int {
	b := 1
	for b < n {
		b *= 2
	}
	return min(b, maxRows)
}

// values returns "(?,?),(?,?),(?,?)" for rows rows of cols placeholders.
func values(rows, cols int) string {
	row := "(" + inArgs(cols) + "),"
	return strings.TrimSuffix(strings.Repeat(row, rows), ",")
}

// inArgs returns "?,?,?" for n placeholders.
func inArgs(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

// pad appends NULL arguments to args up to rows rows of cols.
func pad(args []any, rows, cols int) []any {
	for len(args) < rows*cols {
		args = append(args, nil)
	}
	return args
}

// hotQueries lists the statements worth keeping prepared.
func hotQueries() []string {
	qs := []string{
		lockSQL, savepointSQL, releaseSQL, rollbackToSQL,
		claimSQL, promoteSQL, matchHooksSQL, getHookSQL, getDeliverySQL, hookVersionSQL, nextPKsSQL, unlistedSQL, listSQL, listedUptoSQL,
	}
	for b := 1; b <= maxRows; b *= 2 {
		qs = append(qs, enqueueSQL(b), insertPayloadsSQL(b), settleSQL(b), hookStatusSQL(b), attemptsSQL(b), hooksByPKSQL(b))
	}
	return qs
}

// prepare readies the hot statements, once the schema exists. It must not
// run in a transaction of the Store's: it takes a connection of its own.
// Until it succeeds, statements are parsed at each use.
func (s *Store) prepare(ctx context.Context) {
	if s.stmts.Load() != nil {
		return
	}
	s.prepMu.Lock()
	defer s.prepMu.Unlock()
	if s.stmts.Load() != nil {
		return
	}
	qs := hotQueries()
	m := make(map[string]*sql.Stmt, len(qs))
	for _, q := range qs {
		st, err := s.db.PrepareContext(ctx, q)
		if err != nil {
			// No schema yet, most likely: try again next time.
			for _, st := range m {
				st.Close()
			}
			return
		}
		m[q] = st
	}
	s.stmts.Store(&m)
}
