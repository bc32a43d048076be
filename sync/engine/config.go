package engine

import (
	"fmt"
	"time"

	"github.com/robfig/cron/v3"
)

// Config is the `sync:` section of the umsync config.
type Config struct {
	// Schedule is a cron spec (5 fields, @every, @hourly…; CRON_TZ=Zone
	// prefix allowed) for the cycles `serve` runs.
	Schedule string `yaml:"schedule"`
	// ShutdownTimeout bounds how long shutdown waits for a cancelled cycle.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
}

// DefaultConfig returns the defaults that apply before the YAML is decoded.
func DefaultConfig() Config {
	return Config{Schedule: "@every 1m", ShutdownTimeout: 30 * time.Second}
}

// Validate returns every problem with its YAML path under prefix.
func (c *Config) Validate(prefix string) []error {
	var errs []error
	if _, err := ParseSchedule(c.Schedule); err != nil {
		errs = append(errs, fmt.Errorf("%s.schedule: %w", prefix, err))
	}
	if c.ShutdownTimeout <= 0 {
		errs = append(errs, fmt.Errorf("%s.shutdown_timeout: must be positive", prefix))
	}
	return errs
}

// ParseSchedule parses a cron spec. robfig/cron's parser panics on some
// malformed specs (e.g. "TZ=" without a zone); that panic becomes an error.
func ParseSchedule(spec string) (s cron.Schedule, err error) {
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, fmt.Errorf("invalid cron spec %q: %v", spec, r)
		}
	}()
	if spec == "" {
		return nil, fmt.Errorf("required")
	}
	s, err = cron.ParseStandard(spec)
	if err != nil {
		return nil, fmt.Errorf("invalid cron spec %q: %w", spec, err)
	}
	return s, nil
}
