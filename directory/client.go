package directory

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"sync"

	"github.com/go-ldap/ldap/v3"
	"github.com/rs/zerolog"

	"github.com/umsync/umsync/ums"
)

// Client is a connection to one directory server that redials when the
// server dropped it. It is safe for use by one cycle at a time; a mutex
// guards it against accidental concurrent use.
type Client struct {
	cfg     Config
	log     zerolog.Logger
	tls     *tls.Config
	decoder Decoder

	mu   sync.Mutex
	conn *ldap.Conn
	// server is the dsServiceName of the DC conn reached, read once when
	// it was dialled: every search of a cycle checks it against the cycle's
	// ServerState without asking the DC again.
	server string
}

// New builds a client. It reads the CA file but does not dial.
func New(cfg Config, log zerolog.Logger) (*Client, error) {
	log = log.With().Str("component", "directory").Logger()
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("directory: url: %w", err)
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: u.Hostname()}
	if cfg.CAFile != "" {
		pool, err := loadCAPool(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("directory: ca_file: %w", err)
		}
		tc.RootCAs = pool
	}
	if cfg.InsecureSkipVerify {
		tc.InsecureSkipVerify = true
		log.Warn().Str("url", cfg.URL).
			Msg("TLS certificate verification is OFF (directory.insecure_skip_verify: true): anyone on the path can read the bind password")
	}
	return &Client{
		cfg: cfg, log: log, tls: tc,
		decoder: Decoder{Attrs: cfg.Attributes, Plan: ums.NumberPlan{CountryCode: cfg.CountryCode}},
	}, nil
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

// dial opens and binds a new connection.
func (c *Client) dial(ctx context.Context) (*ldap.Conn, error) {
	conn, err := c.open(ctx)
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
		return nil, fmt.Errorf("bind as %s: %w", c.cfg.BindDN, err)
	}
	if err := ctx.Err(); err != nil {
		conn.Close()
		return nil, err
	}
	c.log.Debug().Str("url", c.cfg.URL).Msg("connected")
	return conn, nil
}

// open dials directory.url with the verified TLS of the config (ldaps or
// StartTLS), not yet bound.
func (c *Client) open(ctx context.Context) (*ldap.Conn, error) {
	d := &net.Dialer{Timeout: c.cfg.DialTimeout}
	conn, err := ldap.DialURL(c.cfg.URL, ldap.DialWithDialer(d), ldap.DialWithTLSConfig(c.tls))
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", c.cfg.URL, err)
	}
	conn.SetTimeout(c.cfg.Timeout)
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if c.cfg.StartTLS {
		if err := conn.StartTLS(c.tls); err != nil {
			conn.Close()
			return nil, fmt.Errorf("start_tls: %w", err)
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
	conn, err := c.dial(ctx)
	if err != nil {
		return nil, fmt.Errorf("directory: %w", err)
	}
	st, err := readServerState(conn)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("directory: %w", err)
	}
	c.conn, c.server = conn, st.ServiceName
	return conn, nil
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
