package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"time"

	_ "github.com/mattn/go-sqlite3" // the SQLite driver (CGO)
	"github.com/rs/zerolog"

	"github.com/umsync/umsync/internal/crashpoint"
)

// Config is the `store:` section of the umsync config.
type Config struct {
	// Path of the SQLite file; its folder must be writable (WAL files).
	Path string `yaml:"path"`
	// BusyTimeout is how long a writer waits for another process's write.
	BusyTimeout time.Duration `yaml:"busy_timeout"`
}

// DefaultConfig returns the defaults that apply before the YAML is decoded.
func DefaultConfig() Config {
	return Config{Path: "/var/lib/umsync/umsync.db", BusyTimeout: 10 * time.Second}
}

// Validate returns every problem with its YAML path under prefix.
func (c *Config) Validate(prefix string) []error {
	var errs []error
	if c.Path == "" {
		errs = append(errs, fmt.Errorf("%s.path: required", prefix))
	}
	if c.BusyTimeout < 0 {
		errs = append(errs, fmt.Errorf("%s.busy_timeout: must not be negative", prefix))
	}
	return errs
}

// ErrNotFound is returned when a looked-up row does not exist.
var ErrNotFound = errors.New("not found")

// Store is an open umsync database.
type Store struct {
	write *sql.DB // one connection: SQLite has one writer
	read  *sql.DB // a pool of read-only connections
	path  string

	// afterConflictRead, when set (tests only), runs in ResolveConflict
	// right after the conflict was read: a seam to order a racing resolve.
	afterConflictRead func()
}

// Open creates the folder (0700) and file (0600) if needed, migrates the
// schema and pings. It fails at once, not at first use, when the binary was
// built without CGO.
func Open(ctx context.Context, cfg Config, log zerolog.Logger) (*Store, error) {
	log = log.With().Str("component", "store").Logger()
	if err := prepareFile(cfg.Path); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	busy := cfg.BusyTimeout.Milliseconds()
	dsn := func(extra string) string {
		return fmt.Sprintf("file:%s?_journal_mode=WAL&_busy_timeout=%d&_foreign_keys=on&_synchronous=NORMAL%s",
			(&url.URL{Path: cfg.Path}).EscapedPath(), busy, extra)
	}
	write, err := sql.Open("sqlite3", dsn("&_txlock=immediate"))
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", cfg.Path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetConnMaxIdleTime(0)
	if err := write.PingContext(ctx); err != nil {
		write.Close()
		return nil, fmt.Errorf("store: open %s: %w", cfg.Path, err)
	}
	applied, err := migrate(ctx, write)
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("store: migrate %s: %w", cfg.Path, err)
	}
	for _, m := range applied {
		log.Info().Str("migration", m).Msg("schema migrated")
	}
	read, err := sql.Open("sqlite3", dsn("&_query_only=true"))
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("store: open %s: %w", cfg.Path, err)
	}
	read.SetMaxOpenConns(4)
	if err := read.PingContext(ctx); err != nil {
		write.Close()
		read.Close()
		return nil, fmt.Errorf("store: open %s: %w", cfg.Path, err)
	}
	return &Store{write: write, read: read, path: cfg.Path}, nil
}

// prepareFile makes the folder 0700 and the database file 0600 before
// SQLite opens it; SQLite gives the -wal and -shm files the file's mode.
func prepareFile(path string) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create folder: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if st.Mode().Perm() != 0o600 {
		if err := f.Chmod(0o600); err != nil {
			return fmt.Errorf("chmod 0600 %s: %w", path, err)
		}
	}
	return nil
}

// DB returns the read pool, for the DB stats collector.
func (s *Store) DB() *sql.DB { return s.read }

// Path is the database file.
func (s *Store) Path() string { return s.path }

// Ping checks that the database answers a query.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.read.QueryRowContext(ctx, `SELECT 1`).Scan(&one); err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	return nil
}

// Close closes both handles.
func (s *Store) Close() error {
	return errors.Join(s.read.Close(), s.write.Close())
}

const timeLayout = "2006-01-02T15:04:05.000Z07:00"

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

func parseTime(s string) (time.Time, error) { return time.Parse(timeLayout, s) }

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return formatTime(t)
}

// Backup writes a consistent copy of the store to path (SQLite's VACUUM
// INTO: online, while cycles and CLI writes go on; the copy is compact and
// needs no WAL). path must not exist. The copy holds secret hashes, so it
// is private from birth: the file is created empty, exclusively and 0600
// before SQLite writes into it (VACUUM INTO accepts an empty file), never
// chmodded afterwards.
func (s *Store) Backup(ctx context.Context, path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("backup: %s exists", path)
	}
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	// On the write connection: the read pool is opened read-only, and VACUUM
	// INTO only reads the store (in WAL mode it blocks no writer).
	if _, err := s.write.ExecContext(ctx, `VACUUM INTO ?`, path); err != nil {
		os.Remove(path) // our own empty or partial file
		return fmt.Errorf("backup to %s: %w", path, err)
	}
	crashpoint.Hit("store.backup-written")
	return nil
}

// IntegrityCheck runs SQLite's integrity_check; "ok" when all is well.
func (s *Store) IntegrityCheck(ctx context.Context) (string, error) {
	var res string
	err := s.read.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&res)
	return res, err
}
