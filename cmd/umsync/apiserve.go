package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/umsync/umsync/api"
	"github.com/umsync/umsync/ums"
)

// apiSettings are what the API follows of cfg.
func (c *Config) apiSettings() api.Settings {
	return api.Settings{API: c.API, Numbers: ums.NumberPlan{CountryCode: c.Directory.CountryCode}, Profiles: c.rules.Profiles,
		Language: c.Mail.Language, MaxPINFailures: c.rules.MaxPINFailures, SettingsToDirectory: settingsToDirectory(c),
		PINPolicy:      c.rules.PINs,
		PasswordLength: c.Mail.Password.Length, PasswordClass: c.Mail.Password.Classes, BcryptCost: c.Mail.BcryptCost}
}

// apiListener is the API's own listener in serve.
type apiListener struct {
	srv  *api.Server
	http *http.Server
	ln   net.Listener
	done chan struct{}
}

// startAPI starts the API's listener (TLS when a certificate is set: 1.2
// or newer) if api.listen is set.
func (d *daemon) startAPI(cfg *Config) error {
	if !cfg.API.Enabled() {
		return nil
	}
	var dir api.PasswordChecker
	if cfg.API.PasswordCheck == api.CheckDirectory {
		dir = d.parts.dir
	}
	srv, err := api.New(cfg.apiSettings(), d.parts.store, dir, apiActions{cfg: d.cfg.Load, st: d.parts.store}, d.log, d.reg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.API.Listen)
	if err != nil {
		return fmt.Errorf("api: %w", err)
	}
	if cfg.API.TLS() {
		cert, err := tls.LoadX509KeyPair(cfg.API.TLSCertFile, cfg.API.TLSKeyFile)
		if err != nil {
			ln.Close()
			return fmt.Errorf("api: %w", err)
		}
		ln = tls.NewListener(ln, &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}})
	}
	a := &apiListener{srv: srv, ln: ln, done: make(chan struct{}),
		http: &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout: cfg.API.RequestTimeout + 5*time.Second, WriteTimeout: cfg.API.RequestTimeout + 5*time.Second,
			IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 16 << 10}}
	go func() {
		defer close(a.done)
		if err := a.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.log.Error().Err(err).Msg("API listener failed")
		}
	}()
	d.api = a
	d.log.Info().Str("addr", ln.Addr().String()).Bool("tls", cfg.API.TLS()).Int("tokens", srv.Tokens().Count()).
		Str("password_check", cfg.API.PasswordCheck).Msg("API listening")
	return nil
}

// APIAddr is the API listener's address ("" without an API).
func (d *daemon) APIAddr() string {
	if d.api == nil {
		return ""
	}
	return d.api.ln.Addr().String()
}

func newAPICmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "api", Short: "The HTTP API the UMS calls (api: section)"}
	var scopes string
	token := &cobra.Command{
		Use:   "token NAME",
		Short: "Make a token for the UMS: printed once, its hash appended to api.tokens_file",
		Long: `Make a random token named NAME with the scopes given (read: users and lookup;
auth: password and PIN checks and changes; admin: the admin actions). The token
is printed once; only its SHA-256 is appended to api.tokens_file (made 0600),
which a running serve reads again when it changes. To revoke a token, delete
its line.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sc, err := api.ParseScopes(scopes)
			if err != nil {
				return usageError{fmt.Errorf("--scopes: %w", err)}
			}
			cfg, err := loadConfig(g.configPath)
			if err != nil {
				return err
			}
			if cfg.API.TokensFile == "" {
				return errors.New("api.tokens_file is not set in the config")
			}
			secret, err := api.NewToken(cfg.API.TokensFile, args[0], sc)
			if err != nil {
				return err
			}
			fmt.Fprintln(g.stdout, secret)
			fmt.Fprintf(g.stderr, "token %q (%s) added to %s; it is shown only now: give it to the UMS as 'Authorization: Bearer TOKEN'\n",
				args[0], scopes, cfg.API.TokensFile)
			return nil
		},
	}
	token.Flags().StringVar(&scopes, "scopes", "read", "comma-separated: read, auth, admin")
	cmd.AddCommand(token)
	return cmd
}
