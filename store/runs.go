package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Run results.
const (
	ResultSuccess = "success"
	ResultFailed  = "failed"
	// ResultStoppedSafety: the cycle would have deactivated more users than
	// the safety limits allow and changed nothing.
	ResultStoppedSafety = "stopped_safety"
)

// Run is the record of one sync cycle.
type Run struct {
	ID          int64
	Mode        string // full | delta
	StartedAt   time.Time
	Duration    time.Duration
	Read        int
	Created     int
	Updated     int
	Deactivated int
	Reactivated int
	Unchanged   int
	Purged      int
	Result      string
	Error       string
	Plan        string // staging cycles: the plan they did not carry out
}

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func insertRun(ctx context.Context, db execer, r Run) (int64, error) {
	res, err := db.ExecContext(ctx, `INSERT INTO sync_runs
		(mode, started_at, duration_ms, read, created, updated, deactivated, reactivated, unchanged, purged, result, error, plan)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.Mode, formatTime(r.StartedAt), r.Duration.Milliseconds(), r.Read, r.Created, r.Updated,
		r.Deactivated, r.Reactivated, r.Unchanged, r.Purged, r.Result, r.Error, r.Plan)
	if err != nil {
		return 0, fmt.Errorf("store: record run: %w", err)
	}
	return res.LastInsertId()
}

// RecordRun records a run that changed no user (failed, or a dry run).
func (s *Store) RecordRun(ctx context.Context, r Run) (int64, error) {
	return insertRun(ctx, s.write, r)
}

// Runs returns the newest runs first.
func (s *Store) Runs(ctx context.Context, limit int) ([]Run, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT id, mode, started_at, duration_ms, read, created, updated,
		deactivated, reactivated, unchanged, purged, result, error, plan FROM sync_runs ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("store: query runs: %w", err)
	}
	defer rows.Close()
	var out []Run
	for rows.Next() {
		var r Run
		var started string
		var ms int64
		if err := rows.Scan(&r.ID, &r.Mode, &started, &ms, &r.Read, &r.Created, &r.Updated,
			&r.Deactivated, &r.Reactivated, &r.Unchanged, &r.Purged, &r.Result, &r.Error, &r.Plan); err != nil {
			return nil, fmt.Errorf("store: query runs: %w", err)
		}
		if r.StartedAt, err = parseTime(started); err != nil {
			return nil, fmt.Errorf("store: run %d: started_at: %w", r.ID, err)
		}
		r.Duration = time.Duration(ms) * time.Millisecond
		out = append(out, r)
	}
	return out, rows.Err()
}

// LastSuccess returns the end time of the newest successful run, or the
// zero time when there is none.
func (s *Store) LastSuccess(ctx context.Context) (time.Time, error) {
	var started string
	var ms int64
	err := s.read.QueryRowContext(ctx, `SELECT started_at, duration_ms FROM sync_runs
		WHERE result = ? ORDER BY id DESC LIMIT 1`, ResultSuccess).Scan(&started, &ms)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("store: last success: %w", err)
	}
	t, err := parseTime(started)
	if err != nil {
		return time.Time{}, fmt.Errorf("store: last success: %w", err)
	}
	return t.Add(time.Duration(ms) * time.Millisecond), nil
}
