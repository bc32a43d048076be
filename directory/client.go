package directory

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sync"

	"github.com/go-ldap/ldap/v3"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/umsync/umsync/ums"
)

// Client is a connection to one directory server that redials when the
// server dropped it. With several URLs (redundant DCs) it uses the first
// that answers, trying them in order at every dial. It is safe for use by
// one cycle at a time; a mutex guards it against accidental concurrent use.
type Client struct {
	cfg     Config
	log     zerolog.Logger
	tls     *tls.Config
	decoder Decoder
	metrics *Metrics

	mu   sync.Mutex
	conn *ldap.Conn
	// server is the dsServiceName of the DC conn reached, read once when
	// it was dialled: every search of a cycle checks it against the cycle's
	// ServerState without asking the DC again.
	server string
	// url and lastServer are the URL and DC of the last successful dial,
	// kept after the connection closed, to notice a switch to another DC.
	url, lastServer string
}

// Metrics are the directory's metrics, shared by the clients a reload
// builds (registered once).
type Metrics struct {
	failovers prometheus.Counter
}

// NewMetrics registers the directory's metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{failovers: prometheus.NewCounter(prometheus.CounterOpts{
		Name: "umsync_directory_failovers_total",
		Help: "Times umsync switched to another directory server of directory.url (the next cycle then runs full: USNs are per DC).",
	})}
	reg.MustRegister(m.failovers)
	return m
}

// New builds a client. It reads the CA file but does not dial. m may be
// nil (no metrics).
func New(cfg Config, log zerolog.Logger, m ...*Metrics) (*Client, error) {
	log = log.With().Str("component", "directory").Logger()
	for _, raw := range cfg.URL {
		if _, err := url.Parse(raw); err != nil {
			return nil, fmt.Errorf("directory: url: %w", err)
		}
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.CAFile != "" {
		pool, err := loadCAPool(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("directory: ca_file: %w", err)
		}
		tc.RootCAs = pool
	}
	if cfg.InsecureSkipVerify {
		tc.InsecureSkipVerify = true
		log.Warn().Strs("url", cfg.URL).
			Msg("TLS certificate verification is OFF (directory.insecure_skip_verify: true): anyone on the path can read the bind password")
	}
	c := &Client{
		cfg: cfg, log: log, tls: tc,
		decoder: Decoder{Attrs: cfg.Attributes, Plan: ums.NumberPlan{CountryCode: cfg.CountryCode}},
	}
	if len(m) > 0 {
		c.metrics = m[0]
	}
	return c, nil
}

// Close drops the connection.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn == nil {
		return nil
	}
	err := c.conn.Close()
	c.conn = nil
	return err
}

// tlsFor is the TLS config for one server URL: its host name is the name
// the certificate must carry.
func (c *Client) tlsFor(raw string) *tls.Config {
	tc := c.tls.Clone()
	if u, err := url.Parse(raw); err == nil {
		tc.ServerName = u.Hostname()
	}
	return tc
}

// dial opens and binds a connection to the first URL that answers and
// returns it with that URL. The errors of all URLs come back together.
func (c *Client) dial(ctx context.Context) (*ldap.Conn, string, error) {
	return c.first(ctx, c.dialURL)
}

// open is dial without the bind: a connection of the first URL that
// answers, with its verified TLS (ldaps or StartTLS), for a bind as
// someone else (CheckPassword).
func (c *Client) open(ctx context.Context) (*ldap.Conn, error) {
	conn, _, err := c.first(ctx, c.openURL)
	return conn, err
}

// first tries connect on each URL in order and returns the first
// connection made.
func (c *Client) first(ctx context.Context, connect func(context.Context, string) (*ldap.Conn, error)) (*ldap.Conn, string, error) {
	var errs []error
	for _, u := range c.cfg.URL {
		conn, err := connect(ctx, u)
		if err == nil {
			return conn, u, nil
		}
		if ctx.Err() != nil {
			return nil, "", err
		}
		errs = append(errs, err)
		if len(c.cfg.URL) > 1 {
			c.log.Warn().Err(err).Str("url", u).Msg("directory server does not answer; trying the next of directory.url")
		}
	}
	return nil, "", errors.Join(errs...)
}

// dialURL opens and binds a new connection to one server.
func (c *Client) dialURL(ctx context.Context, u string) (*ldap.Conn, error) {
	conn, err := c.openURL(ctx, u)
	if err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	pw, err := c.cfg.Password()
	if err != nil {
		conn.Close()
		return nil, err
	}
	if err := conn.Bind(c.cfg.BindDN, pw); err != nil {
		conn.Close()
		return nil, fmt.Errorf("%s: bind as %s: %w", u, c.cfg.BindDN, err)
	}
	if err := ctx.Err(); err != nil {
		conn.Close()
		return nil, err
	}
	c.log.Debug().Str("url", u).Msg("connected")
	return conn, nil
}

// openURL dials one server with verified TLS (ldaps, or StartTLS), not
// yet bound.
func (c *Client) openURL(ctx context.Context, u string) (*ldap.Conn, error) {
	d := &net.Dialer{Timeout: c.cfg.DialTimeout}
	tc := c.tlsFor(u)
	conn, err := ldap.DialURL(u, ldap.DialWithDialer(d), ldap.DialWithTLSConfig(tc))
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", u, err)
	}
	conn.SetTimeout(c.cfg.Timeout)
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if c.cfg.StartTLS {
		if err := conn.StartTLS(tc); err != nil {
			conn.Close()
			return nil, fmt.Errorf("%s: start_tls: %w", u, err)
		}
	}
	if err := ctx.Err(); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

// Ping dials and binds if needed; it tells whether the directory answers.
func (c *Client) Ping(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, err := c.connLocked(ctx)
	return err
}

func (c *Client) connLocked(ctx context.Context) (*ldap.Conn, error) {
	if c.conn != nil && !c.conn.IsClosing() {
		return c.conn, nil
	}
	if c.conn != nil {
		c.conn.Close()
		c.conn = nil
	}
	conn, u, err := c.dial(ctx)
	if err != nil {
		return nil, fmt.Errorf("directory: %w", err)
	}
	st, err := readServerState(conn)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("directory: %w", err)
	}
	c.noteServer(u, st.ServiceName)
	c.conn, c.server = conn, st.ServiceName
	return conn, nil
}

// noteServer records the URL and DC a dial reached. The first dial logs
// which DC umsync uses; a dial that reached another URL than the last one
// is a failover: logged with both, and counted. (The engine sees the other
// dsServiceName in the DC's state and runs the next cycle full.)
func (c *Client) noteServer(u, server string) {
	switch {
	case c.url == "":
		c.log.Info().Str("url", u).Str("dc_service_name", server).Msg("using directory server")
	case c.url != u:
		c.log.Warn().Str("url", u).Str("dc_service_name", server).
			Str("previous_url", c.url).Str("previous_dc_service_name", c.lastServer).
			Msg("directory failover: switched to another directory server; the next cycle runs full (USNs are per DC)")
		if c.metrics != nil {
			c.metrics.failovers.Inc()
		}
	}
	c.url, c.lastServer = u, server
}

// onServer fails with ErrServerChanged unless the client's connection
// reaches the DC of st (c.mu held, inside do).
func (c *Client) onServer(st ServerState) error {
	if c.server != st.ServiceName {
		return fmt.Errorf("%w (%q, then %q)", ErrServerChanged, st.ServiceName, c.server)
	}
	return nil
}

// do runs op on a live connection. If the server had dropped an idle
// connection, op fails with a network error before it delivered anything:
// then it redials once and retries. Any error leaves the client without a
// connection, so the next call starts fresh.
func (c *Client) do(ctx context.Context, op func(conn *ldap.Conn, delivered *bool) error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := ctx.Err(); err != nil { // ended already: nothing is sent
		return fmt.Errorf("directory: %w", err)
	}
	for attempt := 0; ; attempt++ {
		conn, err := c.connLocked(ctx)
		if err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil { // a cancel that hit the dial or bind
				return fmt.Errorf("directory: %w (%v)", ctxErr, err)
			}
			return err
		}
		stop := context.AfterFunc(ctx, func() { conn.Close() })
		delivered := false
		err = op(conn, &delivered)
		stop()
		if err == nil {
			return nil
		}
		// A connection the server dropped fails with ErrorNetwork, or — when
		// go-ldap's reader saw the EOF first — with a plain "unable to read
		// LDAP response packet" error on a conn that is closing.
		lost := ldap.IsErrorWithCode(err, ldap.ErrorNetwork) || conn.IsClosing()
		conn.Close()
		c.conn = nil
		if ctxErr := ctx.Err(); ctxErr != nil {
			return fmt.Errorf("directory: %w", ctxErr)
		}
		if attempt == 0 && !delivered && lost {
			c.log.Info().Err(err).Msg("connection lost, redialling")
			continue
		}
		return fmt.Errorf("directory: %w", err)
	}
}

// pagedSearch runs req one page at a time and hands each entry to fn. Only
// one page is held in memory; go-ldap's SearchWithPaging would buffer all.
func pagedSearch(ctx context.Context, conn *ldap.Conn, req *ldap.SearchRequest, size uint32, fn func(*ldap.Entry) error) error {
	paging := ldap.NewControlPaging(size)
	req.Controls = append(req.Controls[:len(req.Controls):len(req.Controls)], paging)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		res, err := conn.Search(req)
		if err != nil {
			return err
		}
		for i, e := range res.Entries {
			res.Entries[i] = nil // let the page go as it is consumed
			if err := fn(e); err != nil {
				abandonPaging(conn, req, paging)
				return err
			}
		}
		ctrl, _ := ldap.FindControl(res.Controls, ldap.ControlTypePaging).(*ldap.ControlPaging)
		if ctrl == nil || len(ctrl.Cookie) == 0 {
			return nil
		}
		paging.SetCookie(ctrl.Cookie)
	}
}

// abandonPaging tells the server to drop the paged result set (RFC 2696:
// size 0 with the cookie).
func abandonPaging(conn *ldap.Conn, req *ldap.SearchRequest, paging *ldap.ControlPaging) {
	paging.PagingSize = 0
	_, _ = conn.Search(req)
}

// Failovers is the counter of switches to another server (for tests).
func (m *Metrics) Failovers() prometheus.Counter { return m.failovers }
