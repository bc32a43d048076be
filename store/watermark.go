package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Watermark is how far the store has applied the directory's changes: every
// change on DC ServiceName (database InvocationID) up to USN, for the scope
// described by Scope (base DNs, filter, attributes). A delta cycle is only
// correct against the same DC, database and scope.
type Watermark struct {
	ServiceName  string
	InvocationID string
	Scope        string
	USN          int64
	Cookie       []byte // the DirSync cookie; nil with USN tracking
	// LicenseSeats is the seat count the license cap last ran with.
	LicenseSeats int
	// Profiles is the fingerprint of the settings profiles the last cycle
	// applied.
	Profiles  string
	UpdatedAt time.Time
	// ImportEpoch is how many imports the store had taken when the
	// watermark was read (read only, also when there is no watermark):
	// a cycle moves the watermark only if no import came since.
	ImportEpoch int64
}

// Watermark returns the stored watermark; ok is false when there is none
// (no cycle has completed yet).
func (s *Store) Watermark(ctx context.Context) (w Watermark, ok bool, err error) {
	return readWatermark(ctx, s.read)
}

// querier is a *sql.DB or a *sql.Tx.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func readWatermark(ctx context.Context, db querier) (w Watermark, ok bool, err error) {
	var epoch int64
	if err := db.QueryRowContext(ctx, `SELECT value FROM import_epoch WHERE id = 1`).Scan(&epoch); err != nil {
		return Watermark{}, false, fmt.Errorf("store: read import epoch: %w", err)
	}
	defer func() { w.ImportEpoch = epoch }()
	var updated string
	err = db.QueryRowContext(ctx, `SELECT dc_service_name, invocation_id, scope, usn, cookie, license_seats, profiles, updated_at
		FROM watermark WHERE id = 1`).Scan(&w.ServiceName, &w.InvocationID, &w.Scope, &w.USN, &w.Cookie, &w.LicenseSeats, &w.Profiles, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return Watermark{}, false, nil
	}
	if err != nil {
		return Watermark{}, false, fmt.Errorf("store: read watermark: %w", err)
	}
	if w.UpdatedAt, err = parseTime(updated); err != nil {
		return Watermark{}, false, fmt.Errorf("store: watermark updated_at: %w", err)
	}
	return w, true, nil
}

func writeWatermark(ctx context.Context, db execer, w Watermark) error {
	_, err := db.ExecContext(ctx, `INSERT INTO watermark (id, dc_service_name, invocation_id, scope, usn, cookie,
		license_seats, profiles, updated_at) VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET dc_service_name = excluded.dc_service_name,
			invocation_id = excluded.invocation_id, scope = excluded.scope, usn = excluded.usn,
			cookie = excluded.cookie, license_seats = excluded.license_seats, profiles = excluded.profiles,
			updated_at = excluded.updated_at`,
		w.ServiceName, w.InvocationID, w.Scope, w.USN, w.Cookie, w.LicenseSeats, w.Profiles, formatTime(w.UpdatedAt))
	if err != nil {
		return fmt.Errorf("store: write watermark: %w", err)
	}
	return nil
}

// sameWatermark tells whether a and b are the same stored watermark.
func sameWatermark(a, b Watermark) bool {
	return a.ServiceName == b.ServiceName && a.InvocationID == b.InvocationID && a.Scope == b.Scope &&
		a.USN == b.USN && string(a.Cookie) == string(b.Cookie) && a.UpdatedAt.Equal(b.UpdatedAt)
}
