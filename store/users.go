package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/umsync/umsync/internal/crashpoint"
	"github.com/umsync/umsync/ums"
)

// The users table holds every field of ums.UserFields, each in its
// column, and the store's own columns: the merge base (written and read)
// and the row version (read; only the triggers or upsertVersionedSQL set
// it).
var (
	userColumns   = columnList(`base`)            // the columns a user is written with, userArgs' order
	selectColumns = columnList(`base`, `version`) // the columns a user is read with, scanUser's order
	userParams    = `(?` + strings.Repeat(`, ?`, strings.Count(userColumns, `,`)) + `)`
)

// columnList is the table's columns, then own.
func columnList(own ...string) string {
	var cols []string
	for _, f := range ums.UserFields {
		cols = append(cols, f.Column)
	}
	return strings.Join(append(cols, own...), ", ")
}

type rowScanner interface{ Scan(dest ...any) error }

// scanUser reads a user of selectColumns: each table field by its kind,
// then the base and the version.
func scanUser(r rowScanner) (ums.User, error) {
	var (
		u    ums.User
		base string
	)
	dest := make([]any, 0, len(ums.UserFields)+2)
	texts := make([]sql.NullString, len(ums.UserFields)) // lists (JSON) and times, decoded below
	for i, f := range ums.UserFields {
		switch p := f.Ptr(&u).(type) {
		case *string, *bool:
			dest = append(dest, p)
		default:
			dest = append(dest, &texts[i])
		}
	}
	if err := r.Scan(append(dest, &base, &u.Version)...); err != nil {
		return u, err
	}
	for i, f := range ums.UserFields {
		var err error
		switch p := f.Ptr(&u).(type) {
		case *[]string:
			if err = json.Unmarshal([]byte(texts[i].String), p); err == nil && len(*p) == 0 {
				*p = nil
			}
		case *time.Time:
			if texts[i].Valid {
				*p, err = parseTime(texts[i].String)
			}
		}
		if err != nil {
			return u, fmt.Errorf("user %s: %s: %w", u.Anchor, f.Column, err)
		}
	}
	var err error
	if u.Base, err = decodeBase(base); err != nil {
		return u, fmt.Errorf("user %s: base: %w", u.Anchor, err)
	}
	return u, nil
}

// AllUsers returns every user, ordered by anchor.
func (s *Store) AllUsers(ctx context.Context) ([]ums.User, error) {
	return s.queryUsers(ctx, `SELECT `+selectColumns+` FROM users ORDER BY anchor`)
}

// UserFilter narrows ListUsers.
type UserFilter struct {
	// Search matches, case-insensitively, a substring of the
	// sAMAccountName, names, mail, extension or any number.
	Search  string
	State   ums.State
	Profile string           // the settings' profile; "-" for users in none
	License ums.LicenseState // active | pending | none
	// Anchors, when not nil, keeps only these users (e.g. a group's members).
	Anchors map[string]bool
	// Offset and Limit page the result (Limit 0: all).
	Offset, Limit int
}

// ListUsers returns the users matching f, ordered by sAMAccountName, then
// anchor (stable across calls, for paging).
func (s *Store) ListUsers(ctx context.Context, f UserFilter) ([]ums.User, error) {
	q, args := listQuery(f)
	users, err := s.queryUsers(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return filterAnchors(users, f), nil
}

// listQuery is ListUsers' query; with f.Anchors, filterAnchors pages.
func listQuery(f UserFilter) (string, []any) {
	q := `SELECT ` + selectColumns + ` FROM users WHERE 1=1`
	var args []any
	if f.Search != "" {
		like := "%" + escapeLike(strings.ToLower(f.Search)) + "%"
		q += ` AND (lower(sam_account_name) LIKE ? ESCAPE '\' OR lower(given_name) LIKE ? ESCAPE '\'
			OR lower(surname) LIKE ? ESCAPE '\' OR lower(display_name) LIKE ? ESCAPE '\'
			OR lower(mail) LIKE ? ESCAPE '\' OR extension LIKE ? ESCAPE '\' OR phone LIKE ? ESCAPE '\'
			OR mobile LIKE ? ESCAPE '\' OR fax_numbers LIKE ? ESCAPE '\' OR alias_numbers LIKE ? ESCAPE '\')`
		for range 10 {
			args = append(args, like)
		}
	}
	if f.State != "" {
		q += ` AND state = ?`
		args = append(args, string(f.State))
	}
	if f.Profile != "" {
		p := f.Profile
		if p == "-" {
			p = ""
		}
		cond, cargs := profileIs(p)
		q += ` AND ` + cond
		args = append(args, cargs...)
	}
	if f.License != "" {
		q += ` AND license = ?`
		args = append(args, string(f.License))
	}
	q += ` ORDER BY sam_account_name, anchor`
	if f.Anchors == nil && (f.Limit > 0 || f.Offset > 0) {
		limit := f.Limit
		if limit <= 0 {
			limit = -1 // SQLite: no limit
		}
		q += ` LIMIT ? OFFSET ?`
		args = append(args, limit, f.Offset)
	}
	return q, args
}

// filterAnchors keeps the users in f.Anchors (if set) and pages them.
func filterAnchors(all []ums.User, f UserFilter) []ums.User {
	if f.Anchors == nil {
		return all
	}
	kept := all[:0]
	for _, u := range all {
		if f.Anchors[u.Anchor] {
			kept = append(kept, u)
		}
	}
	kept = kept[min(f.Offset, len(kept)):]
	if f.Limit > 0 {
		kept = kept[:min(f.Limit, len(kept))]
	}
	return kept
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// User finds one user by anchor, sAMAccountName (case-insensitive) or
// extension; a name or anchor wins over an extension, an active user over
// a deactivated one. The error for no match reads "user 'ID' not found".
func (s *Store) User(ctx context.Context, id string) (ums.User, error) {
	users, err := s.queryUsers(ctx, `SELECT `+selectColumns+` FROM users
		WHERE anchor = lower(?1) OR lower(sam_account_name) = lower(?1) OR (extension = ?1 AND extension != '')
		ORDER BY (anchor = lower(?1) OR lower(sam_account_name) = lower(?1)) DESC, state, anchor LIMIT 1`, id)
	if err != nil {
		return ums.User{}, err
	}
	if len(users) == 0 {
		return ums.User{}, fmt.Errorf("user '%s' %w", id, ErrNotFound)
	}
	return users[0], nil
}

func (s *Store) queryUsers(ctx context.Context, q string, args ...any) ([]ums.User, error) {
	return queryUsersOn(ctx, s.read, q, args...)
}

// rowsQuerier is a *sql.DB or a *sql.Tx.
type rowsQuerier interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

func queryUsersOn(ctx context.Context, db rowsQuerier, q string, args ...any) ([]ums.User, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: query users: %w", err)
	}
	defer rows.Close()
	var out []ums.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: query users: %w", err)
	}
	return out, nil
}

// CountByState counts users per state; every state is present, possibly 0.
func (s *Store) CountByState(ctx context.Context) (map[ums.State]int, error) {
	out := map[ums.State]int{ums.StateActive: 0, ums.StateDeactivated: 0}
	rows, err := s.read.QueryContext(ctx, `SELECT state, COUNT(*) FROM users GROUP BY state`)
	if err != nil {
		return nil, fmt.Errorf("store: count users: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, fmt.Errorf("store: count users: %w", err)
		}
		out[ums.State(st)] = n
	}
	return out, rows.Err()
}

// upsertBatch is how many users one INSERT statement writes: one statement
// per row costs a cgo round trip each (measured: 50,000 users 0.65-0.9 s
// row by row).
const upsertBatch = 50

func upsertUsersSQL(rows int) string {
	return upsertSQL(userColumns, userParams, rows, "")
}

// upsertVersionedSQL is upsertUsersSQL with the row version set by the
// caller (a block taken from the sequence): the triggers stay quiet.
func upsertVersionedSQL(rows int) string {
	return upsertSQL(userColumns+", version", userParams[:len(userParams)-1]+", ?)", rows, ", version = excluded.version")
}

// upsertSQL inserts rows of columns; a row whose anchor is stored updates
// it, keeping its first_seen (an import sets that on its own).
func upsertSQL(columns, params string, rows int, extra string) string {
	var set []string
	for _, c := range strings.Split(userColumns, ", ") {
		if c != "anchor" && c != "first_seen" {
			set = append(set, c+" = excluded."+c)
		}
	}
	return `INSERT INTO users (` + columns + `) VALUES ` + params + strings.Repeat(", "+params, rows-1) + `
		ON CONFLICT (anchor) DO UPDATE SET ` + strings.Join(set, ", ") + extra
}

// userArgs appends u's column values in userColumns order: each table
// field by its kind, then the base.
func userArgs(args []any, u *ums.User) ([]any, error) {
	if !u.State.Valid() {
		return nil, fmt.Errorf("store: user %s: invalid state %q", u.Anchor, u.State)
	}
	for _, f := range ums.UserFields {
		switch p := f.Ptr(u).(type) {
		case *string:
			v := *p
			if v == "" {
				v = f.Default
			}
			args = append(args, v)
		case *[]string:
			nums, err := numbersJSON(*p)
			if err != nil {
				return nil, err
			}
			args = append(args, nums)
		case *bool:
			args = append(args, *p)
		case *time.Time:
			if f.Has(ums.Optional) {
				args = append(args, nullTime(*p))
			} else {
				args = append(args, formatTime(*p))
			}
		}
	}
	return append(args, encodeBase(u.Base)), nil
}

// numbersJSON is a list of numbers as stored: a JSON array, [] for none.
func numbersJSON(nums []string) (string, error) {
	if nums == nil {
		nums = []string{}
	}
	b, err := json.Marshal(nums)
	return string(b), err
}

// CountLicenses counts users by license state; every state is present.
func (s *Store) CountLicenses(ctx context.Context) (map[ums.LicenseState]int, error) {
	out := map[ums.LicenseState]int{ums.LicenseActive: 0, ums.LicensePending: 0, ums.LicenseNone: 0}
	rows, err := s.read.QueryContext(ctx, `SELECT license, COUNT(*) FROM users GROUP BY license`)
	if err != nil {
		return nil, fmt.Errorf("store: count licenses: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var l string
		var n int
		if err := rows.Scan(&l, &n); err != nil {
			return nil, fmt.Errorf("store: count licenses: %w", err)
		}
		out[ums.LicenseState(l)] = n
	}
	return out, rows.Err()
}

// PhantomAnchors returns the anchors of the users marked phantom.
func (s *Store) PhantomAnchors(ctx context.Context) (map[string]bool, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT anchor FROM users WHERE phantom = 1`)
	if err != nil {
		return nil, fmt.Errorf("store: phantoms: %w", err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			return nil, fmt.Errorf("store: phantoms: %w", err)
		}
		out[a] = true
	}
	return out, rows.Err()
}

// PendingLicenses lists the users waiting for a seat, by anchor. The
// order in which they get one is the license cap's (plan.WaitOrder), not
// the store's to decide.
func (s *Store) PendingLicenses(ctx context.Context) ([]ums.User, error) {
	return s.queryUsers(ctx, `SELECT `+selectColumns+` FROM users WHERE license = ?
		ORDER BY anchor`, string(ums.LicensePending))
}

// encodeBase writes a user's merge base as a JSON object field → value.
func encodeBase(b []ums.FieldValue) string {
	if len(b) == 0 {
		return "{}"
	}
	m := make(map[string]string, len(b))
	for _, fv := range b {
		m[string(fv.Field)] = fv.Value
	}
	out, _ := json.Marshal(m) // a map of strings always marshals
	return string(out)
}

func decodeBase(s string) ([]ums.FieldValue, error) {
	if s == "" || s == "{}" {
		return nil, nil
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, err
	}
	out := make([]ums.FieldValue, 0, len(m))
	for _, f := range ums.Fields { // a stable order
		if v, ok := m[string(f)]; ok {
			out = append(out, ums.FieldValue{Field: f, Value: v})
		}
	}
	return out, nil
}

// CycleWrite is everything one cycle writes.
type CycleWrite struct {
	// Users are created or changed: each is written only if its row is
	// still at the version it was planned from (User.Version; 0: the row
	// must not exist yet). A user whose row moved on is stale: nothing of
	// it is written (see Applied.Stale).
	Users  []*ums.User
	Purge  []*ums.User  // deactivated users deleted for good (same version check)
	Outbox []UserOutbox // per user: directory writes, conflicts, settled fields, numbers given back
	// Problems replace the recorded problems of the users planned (an
	// empty list clears them).
	Problems map[string][]ums.Problem
	// FindDuplicates re-checks which active users share an extension, a
	// mobile or a fax number (when one of those, or a user's state, changed).
	FindDuplicates bool
	// Mails are queued with the cycle's changes (a key queued before is
	// not queued again).
	Mails []Mail
	// Replanned are the users of the replan list this cycle planned again:
	// they leave the list (unless stale again).
	Replanned []string
	// Watermark is the new watermark (nil leaves it as it is). It is
	// written only if the stored one is still WatermarkRead, the one the
	// cycle started from (nil: none), and no import came since the cycle
	// read the import epoch (WatermarkRead.ImportEpoch, or ImportEpoch
	// when the cycle started with no watermark): an import that dropped it
	// asked for a full cycle, and a cycle planned before the import must
	// not take that back.
	Watermark     *Watermark
	WatermarkRead *Watermark
	ImportEpoch   int64
	Run           Run
	// Planned, when set, streams more users to write after the ones above,
	// each with what it brings along; they are written a chunk at a time,
	// so a cycle of 50,000 new users never holds them all. The same rules
	// hold for them (version check, stale users skipped whole).
	Planned func(yield func(PlannedUser) error) error
}

// PlannedUser is one user a cycle writes (Planned), with its outbox,
// problems and mails.
type PlannedUser struct {
	User     *ums.User
	Purge    bool // delete the deactivated user for good
	Outbox   UserOutbox
	Problems []ums.Problem // replace its recorded problems (none clears them; not for a purge)
	Mails    []Mail
}

// plannedChunk is how many streamed users ApplyCycle writes at a time.
const plannedChunk = 1000

// Applied is what ApplyCycle did.
type Applied struct {
	RunID int64
	// Stale are the planned users whose rows changed after they were read
	// (an admin edit, an import): not written, put on the replan list for
	// the next cycle, which reads them from the directory again.
	Stale []ums.User
	// WatermarkMoved is true when the watermark was not written because
	// it changed while the cycle ran (an import dropped it): the next
	// cycle runs full.
	WatermarkMoved bool
}

// ApplyCycle writes a cycle's users, purges, watermark and run record in one
// transaction: either all of a cycle lands or none of it, so the watermark
// never gets ahead of the changes it covers. A user whose row changed
// since the cycle read it is left as it is, with everything the cycle
// planned for it (directory writes, conflicts, problems, mails), and is
// planned again by the next cycle: an admin's edit is never overwritten by
// a plan made before it.
func (s *Store) ApplyCycle(ctx context.Context, w CycleWrite) (Applied, error) {
	var res Applied
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return res, fmt.Errorf("store: begin: %w", err)
	}
	defer tx.Rollback()
	now := w.Run.StartedAt
	first := cycleChunk{users: w.Users, purge: w.Purge, outbox: w.Outbox, problems: w.Problems, mails: w.Mails}
	if err := first.apply(ctx, tx, now, &res); err != nil {
		return res, err
	}
	if w.Planned != nil {
		var c cycleChunk
		err := w.Planned(func(pu PlannedUser) error {
			c.add(pu)
			if len(c.users)+len(c.purge) < plannedChunk {
				return nil
			}
			err := c.apply(ctx, tx, now, &res)
			c = cycleChunk{}
			return err
		})
		if err == nil {
			err = c.apply(ctx, tx, now, &res)
		}
		if err != nil {
			return res, err
		}
	}
	if w.FindDuplicates {
		if err := refreshDuplicates(ctx, tx, now); err != nil {
			return res, err
		}
	}
	if err := updateReplan(ctx, tx, w.Replanned, res.Stale, now); err != nil {
		return res, err
	}
	if w.Watermark != nil {
		cur, ok, err := readWatermark(ctx, tx)
		if err != nil {
			return res, err
		}
		epoch := w.ImportEpoch
		if w.WatermarkRead != nil {
			epoch = w.WatermarkRead.ImportEpoch
		}
		if ok == (w.WatermarkRead != nil) && (!ok || sameWatermark(cur, *w.WatermarkRead)) && cur.ImportEpoch == epoch {
			if err := writeWatermark(ctx, tx, *w.Watermark); err != nil {
				return res, err
			}
		} else {
			res.WatermarkMoved = true
		}
	}
	if res.RunID, err = insertRun(ctx, tx, w.Run); err != nil {
		return res, err
	}
	crashpoint.Hit("store.before-commit") // every write done, the commit not yet
	if err := tx.Commit(); err != nil {
		return res, fmt.Errorf("store: commit: %w", err)
	}
	return res, nil
}

// cycleChunk is a part of a cycle's users with what they bring along.
type cycleChunk struct {
	users, purge []*ums.User
	outbox       []UserOutbox
	problems     map[string][]ums.Problem
	mails        []Mail
}

func (c *cycleChunk) add(pu PlannedUser) {
	if pu.Purge {
		c.purge = append(c.purge, pu.User)
	} else {
		c.users = append(c.users, pu.User)
		if c.problems == nil {
			c.problems = map[string][]ums.Problem{}
		}
		c.problems[pu.User.Anchor] = pu.Problems
	}
	if o := pu.Outbox; len(o.Writes)+len(o.Conflicts)+len(o.Settled)+len(o.Released) > 0 {
		c.outbox = append(c.outbox, o)
	}
	c.mails = append(c.mails, pu.Mails...)
}

// apply writes the chunk's users that are still at the version they were
// planned from, their purges, outboxes, mails and problems; the stale ones
// are added to res.Stale, and nothing of them is written.
func (c *cycleChunk) apply(ctx context.Context, tx *sql.Tx, now time.Time, res *Applied) error {
	stale, err := staleUsers(ctx, tx, c.users, c.purge)
	if err != nil {
		return err
	}
	for _, l := range [][]*ums.User{c.users, c.purge} {
		for _, u := range l {
			if stale[u.Anchor] {
				res.Stale = append(res.Stale, ums.User{Anchor: u.Anchor, SAMAccountName: u.SAMAccountName, Version: u.Version})
			}
		}
	}
	fresh := func(anchor string) bool { return !stale[anchor] }
	if err := upsertUsers(ctx, tx, keep(c.users, func(u *ums.User) bool { return fresh(u.Anchor) })); err != nil {
		return err
	}
	for _, u := range c.purge {
		if stale[u.Anchor] {
			continue
		}
		del, err := tx.ExecContext(ctx, `DELETE FROM users WHERE anchor = ? AND state = ?`, u.Anchor, string(ums.StateDeactivated))
		if err != nil {
			return fmt.Errorf("store: purge %s: %w", u.Anchor, err)
		}
		if n, _ := del.RowsAffected(); n != 1 {
			return fmt.Errorf("store: purge %s: not a deactivated user", u.Anchor)
		} // its secrets and problems go with it (foreign keys, 0013)
		if err := dropUserMails(ctx, tx, u.Anchor); err != nil {
			return err
		}
	}
	for _, o := range c.outbox {
		if !fresh(o.Anchor) {
			continue
		}
		if err := writeOutbox(ctx, tx, o, now); err != nil {
			return err
		}
	}
	for _, m := range c.mails {
		if m.Anchor != "" && !fresh(m.Anchor) {
			continue
		}
		if _, err := queueMail(ctx, tx, m, now); err != nil {
			return err
		}
	}
	problems := c.problems
	if len(stale) > 0 {
		problems = make(map[string][]ums.Problem, len(c.problems))
		for a, ps := range c.problems {
			if fresh(a) {
				problems[a] = ps
			}
		}
	}
	return replaceProblems(ctx, tx, problems, now)
}

// keep returns the users for which ok is true (users itself when all are).
func keep(users []*ums.User, ok func(*ums.User) bool) []*ums.User {
	for i, u := range users {
		if ok(u) {
			continue
		}
		out := append(make([]*ums.User, 0, len(users)-1), users[:i]...)
		for _, u := range users[i+1:] {
			if ok(u) {
				out = append(out, u)
			}
		}
		return out
	}
	return users
}

// staleUsers returns the anchors among users and purge whose row is no
// longer at the version they were planned from: changed or deleted since
// (a planned version 0, a new user, is stale if the row exists now). It
// runs inside the write transaction, so nothing can change in between.
func staleUsers(ctx context.Context, tx *sql.Tx, lists ...[]*ums.User) (map[string]bool, error) {
	planned := map[string]int64{}
	for _, l := range lists {
		for _, u := range l {
			planned[u.Anchor] = u.Version
		}
	}
	stale := map[string]bool{}
	if len(planned) == 0 {
		return stale, nil
	}
	// One statement over a JSON object anchor -> version, answering only
	// the stale ones (usually none): reading every version back into Go
	// cost 0.7 s at 50,000 users, a cgo call per row.
	arg, err := json.Marshal(planned)
	if err != nil {
		return nil, err
	}
	rows, err := tx.QueryContext(ctx, `SELECT p.key FROM json_each(?) p LEFT JOIN users u ON u.anchor = p.key
		WHERE COALESCE(u.version, 0) != p.value`, string(arg)) // a row gone since reads as version 0
	if err != nil {
		return nil, fmt.Errorf("store: read versions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			return nil, fmt.Errorf("store: read versions: %w", err)
		}
		stale[a] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: read versions: %w", err)
	}
	return stale, nil
}

// upsertUsers writes users in batches of upsertBatch rows per statement,
// each with a new version from a block it takes of the sequence.
func upsertUsers(ctx context.Context, tx *sql.Tx, users []*ums.User) error {
	if len(users) == 0 {
		return nil
	}
	var last int64
	if err := tx.QueryRowContext(ctx, `UPDATE change_seq SET value = value + ? WHERE id = 1 RETURNING value`,
		len(users)).Scan(&last); err != nil {
		return fmt.Errorf("store: take versions: %w", err)
	}
	version := last - int64(len(users))
	var batch *sql.Stmt
	args := make([]any, 0, upsertBatch*(len(ums.UserFields)+2)) // the fields, the base, the version
	var err error
	for len(users) > 0 {
		n := min(len(users), upsertBatch)
		args = args[:0]
		for _, u := range users[:n] {
			if args, err = userArgs(args, u); err != nil {
				return err
			}
			version++
			args = append(args, version)
		}
		stmt := batch
		if n < upsertBatch || batch == nil {
			if stmt, err = tx.PrepareContext(ctx, upsertVersionedSQL(n)); err != nil {
				return fmt.Errorf("store: prepare: %w", err)
			}
			defer stmt.Close()
			if n == upsertBatch {
				batch = stmt
			}
		}
		if _, err := stmt.ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("store: write users %s…: %w", users[0].Anchor, err)
		}
		users = users[n:]
	}
	return nil
}

// updateReplan takes the users a cycle planned again off the replan list
// and puts the stale ones on it.
func updateReplan(ctx context.Context, tx *sql.Tx, done []string, stale []ums.User, now time.Time) error {
	for _, a := range done {
		if _, err := tx.ExecContext(ctx, `DELETE FROM replan WHERE anchor = ?`, a); err != nil {
			return fmt.Errorf("store: replan: %w", err)
		}
	}
	for _, u := range stale {
		if _, err := tx.ExecContext(ctx, `INSERT INTO replan (anchor, since) VALUES (?, ?) ON CONFLICT (anchor) DO NOTHING`,
			u.Anchor, formatTime(now)); err != nil {
			return fmt.Errorf("store: replan: %w", err)
		}
	}
	return nil
}

// Replan lists the users the next cycle must read from the directory
// again: a cycle did not write them because they changed while it ran.
func (s *Store) Replan(ctx context.Context) ([]string, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT anchor FROM replan ORDER BY anchor`)
	if err != nil {
		return nil, fmt.Errorf("store: replan: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			return nil, fmt.Errorf("store: replan: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// UsersByAnchor returns the stored users among anchors (unknown ones are
// left out), for planning a delta without loading every user.
func (s *Store) UsersByAnchor(ctx context.Context, anchors []string) ([]ums.User, error) {
	var out []ums.User
	for len(anchors) > 0 {
		n := min(len(anchors), 500)
		args := make([]any, n)
		for i, a := range anchors[:n] {
			args[i] = a
		}
		users, err := s.queryUsers(ctx, `SELECT `+selectColumns+` FROM users WHERE anchor IN (?`+
			strings.Repeat(", ?", n-1)+`)`, args...)
		if err != nil {
			return nil, err
		}
		out = append(out, users...)
		anchors = anchors[n:]
	}
	return out, nil
}

// DeactivatedBefore returns the users deactivated before cutoff: the ones
// whose retention has run out.
func (s *Store) DeactivatedBefore(ctx context.Context, cutoff time.Time) ([]ums.User, error) {
	return s.queryUsers(ctx, `SELECT `+selectColumns+` FROM `+deactivatedBefore+` ORDER BY anchor`,
		string(ums.StateDeactivated), formatTime(cutoff))
}

// deactivatedBefore is the rows of DeactivatedBefore (arguments: the state,
// the cutoff). Every cycle asks it, so it is answered from the index
// users_state_deactivated_at, not by reading every deactivated row.
const deactivatedBefore = `users WHERE state = ? AND deactivated_at IS NOT NULL AND deactivated_at < ?`

// profileIs is the SQL condition "the row's settings profile is p" ("":
// none) and its arguments, by the markers of the encoding that ums gives
// (ums.ProfileMarker, ums.ProfileSuffix); ums.ProfileOf reads the same in
// Go. The profile is not a column of its own: it is part of the settings.
func profileIs(p string) (string, []any) {
	if p == "" {
		return `instr(settings, ?) = 0`, []any{ums.ProfileMarker}
	}
	tail := ums.ProfileSuffix(p)
	return `substr(settings, -length(?)) = ?`, []any{tail, tail}
}

// ProfileAnchors returns the active users whose settings come from another
// profile than except, with that profile ("" for none): with the members
// of each profile's group, all a delta needs to find who moved.
func (s *Store) ProfileAnchors(ctx context.Context, except string) (map[string]string, error) {
	cond, args := profileIs(except)
	rows, err := s.read.QueryContext(ctx, `SELECT anchor, settings FROM users
		WHERE state = 'active' AND NOT (`+cond+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: profiles: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var a, settings string
		if err := rows.Scan(&a, &settings); err != nil {
			return nil, fmt.Errorf("store: profiles: %w", err)
		}
		if p := ums.ProfileOf(settings); p != except {
			out[a] = p
		}
	}
	return out, rows.Err()
}

// CountLicenseTypes counts the users holding a seat by license type (read
// from the settings by ums.LicenseTypeMarker; none set is voice). Both
// types are present.
func (s *Store) CountLicenseTypes(ctx context.Context) (map[ums.LicenseType]int, error) {
	out := map[ums.LicenseType]int{ums.LicenseVoice: 0, ums.LicenseAdmin: 0}
	rows, err := s.read.QueryContext(ctx, `SELECT instr(settings, ?) > 0, COUNT(*) FROM users
		WHERE license = 'active' GROUP BY 1`, ums.LicenseTypeMarker(ums.LicenseAdmin))
	if err != nil {
		return nil, fmt.Errorf("store: count license types: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var admin bool
		var n int
		if err := rows.Scan(&admin, &n); err != nil {
			return nil, fmt.Errorf("store: count license types: %w", err)
		}
		if admin {
			out[ums.LicenseAdmin] = n
		} else {
			out[ums.LicenseVoice] = n
		}
	}
	return out, rows.Err()
}

// ImportResult is what an import changes, by sAMAccountName.
type ImportResult struct {
	Added, Changed, Removed []string
}

// ImportClash is an imported user whose sAMAccountName an active stored
// user with another anchor holds, one that the import keeps.
type ImportClash struct {
	Index          int    // the user's index in the imported list
	SAMAccountName string // as the file has it
	Other          ums.User
}

// ImportClashes are every clash of an import: it imports nothing.
type ImportClashes []ImportClash

func (cs ImportClashes) Error() string {
	var b strings.Builder
	for i, c := range cs {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "user %d: sam_account_name %s is held by active user %s", c.Index+1, c.SAMAccountName, c.Other.Anchor)
	}
	return "store: import: " + b.String()
}

// ImportUsers writes users (an import file, validated) in one transaction:
// each replaces the stored user with its anchor, as the file has it (the
// merge base starts in step); with replace, every stored user not in the
// file is deleted; its secret hashes and problems go with it (foreign
// keys), its conflicts and queued work are deleted here. An active user
// whose sAMAccountName an active stored user with another anchor keeps
// (not in the file, and not removed by replace) is an ImportClashes error,
// and nothing is written. Each added, changed or removed user is audited
// as actor. The watermark is dropped, so the next cycle runs full and
// reconciles with AD. With dryRun nothing is kept.
func (s *Store) ImportUsers(ctx context.Context, users []ums.User, replace, dryRun bool, actor string, now time.Time) (ImportResult, error) {
	var res ImportResult
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return res, fmt.Errorf("store: begin: %w", err)
	}
	defer tx.Rollback()
	stored := map[string]ums.User{}
	rows, err := tx.QueryContext(ctx, `SELECT `+selectColumns+` FROM users`)
	if err != nil {
		return res, fmt.Errorf("store: import: %w", err)
	}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			rows.Close()
			return res, err
		}
		stored[u.Anchor] = u
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return res, err
	}
	inFile := make(map[string]bool, len(users))
	for i := range users {
		inFile[users[i].Anchor] = true
	}
	if clashes := importClashes(users, stored, inFile, replace); len(clashes) > 0 {
		return res, clashes
	}
	for i := range users {
		u := &users[i]
		u.Base = nil
		old, ok := stored[u.Anchor]
		action, what := "import", "added"
		if ok {
			old.Base = nil // the base is not exported: not a difference
			oldArgs, _ := userArgs(nil, &old)
			newArgs, err := userArgs(nil, u)
			if err != nil {
				return res, err
			}
			if fmt.Sprint(oldArgs) == fmt.Sprint(newArgs) {
				continue
			}
			what = "changed"
			res.Changed = append(res.Changed, u.SAMAccountName)
		} else {
			res.Added = append(res.Added, u.SAMAccountName)
		}
		args, err := userArgs(nil, u)
		if err != nil {
			return res, err
		}
		// An update in place, never a delete and insert: a deleted row
		// takes its secrets and problems with it (foreign keys).
		if _, err := tx.ExecContext(ctx, upsertUsersSQL(1), args...); err != nil {
			return res, fmt.Errorf("store: import %s: %w", u.SAMAccountName, err)
		}
		if ok && !old.FirstSeen.Equal(u.FirstSeen) { // the upsert keeps the stored first_seen
			if _, err := tx.ExecContext(ctx, `UPDATE users SET first_seen = ? WHERE anchor = ?`,
				formatTime(u.FirstSeen), u.Anchor); err != nil {
				return res, fmt.Errorf("store: import %s: %w", u.SAMAccountName, err)
			}
		}
		if err := audit(ctx, tx, now, actor, u.Anchor, action, "user", "", what); err != nil {
			return res, err
		}
	}
	if replace {
		for anchor, u := range stored {
			if inFile[anchor] {
				continue
			}
			for _, q := range []string{`DELETE FROM users WHERE anchor = ?`, // and, by cascade, its secrets and problems
				`DELETE FROM conflicts WHERE anchor = ?`, `DELETE FROM directory_writes WHERE anchor = ? AND status = 'pending'`,
				`DELETE FROM mail_outbox WHERE anchor = ? AND state != 'sent'`} {
				if _, err := tx.ExecContext(ctx, q, anchor); err != nil {
					return res, fmt.Errorf("store: remove %s: %w", u.SAMAccountName, err)
				}
			}
			if err := audit(ctx, tx, now, actor, anchor, "import", "user", u.SAMAccountName, "removed"); err != nil {
				return res, err
			}
			res.Removed = append(res.Removed, u.SAMAccountName)
		}
	}
	sort.Strings(res.Added)
	sort.Strings(res.Changed)
	sort.Strings(res.Removed)
	if dryRun {
		return res, nil
	}
	if err := refreshDuplicates(ctx, tx, now); err != nil {
		return res, err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM watermark`); err != nil {
		return res, fmt.Errorf("store: drop watermark: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE import_epoch SET value = value + 1 WHERE id = 1`); err != nil {
		return res, fmt.Errorf("store: count the import: %w", err)
	}
	return res, tx.Commit()
}

// importClashes finds the active imported users whose sAMAccountName
// (case-insensitive, as AD compares it) an active stored user with another
// anchor holds after the import: one not in the file, kept because replace
// is off. Clashes within the file are userfile.Read's to find.
func importClashes(users []ums.User, stored map[string]ums.User, inFile map[string]bool, replace bool) ImportClashes {
	if replace {
		return nil
	}
	kept := map[string]ums.User{}
	for anchor, u := range stored {
		if !inFile[anchor] && u.State == ums.StateActive {
			kept[strings.ToLower(u.SAMAccountName)] = u
		}
	}
	var out ImportClashes
	for i, u := range users {
		if other, ok := kept[strings.ToLower(u.SAMAccountName)]; ok && u.State == ums.StateActive {
			out = append(out, ImportClash{Index: i, SAMAccountName: u.SAMAccountName, Other: other})
		}
	}
	return out
}
