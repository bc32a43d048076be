package adlab

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Proxy is a TCP relay on 127.0.0.1:0 in front of the lab, for faults a
// test injects without touching the shared DC: drop every connection (a
// DC restart or an idle timeout), cut the answers after some bytes (the
// DC dies in the middle of a paged read), go down and come back on the
// same port (the DC stopped, then started).
type Proxy struct {
	target string
	addr   string

	mu     sync.Mutex
	ln     net.Listener
	conns  []net.Conn
	budget atomic.Int64 // bytes still relayed to the client; < 0: no limit
}

// NewProxy relays to target (host:port) until the test ends.
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	p := &Proxy{target: target}
	p.budget.Store(-1)
	if err := p.listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Down)
	return p
}

func (p *Proxy) listen(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	go p.serve(ln)
	return nil
}

// Addr is the proxy's host:port.
func (p *Proxy) Addr() string { return p.addr }

func (p *Proxy) serve(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, up)
		p.mu.Unlock()
		go func() { io.Copy(up, c); up.Close() }()
		go func() { p.relayDown(c, up); c.Close() }()
	}
}

// relayDown copies the server's answers to the client, within the budget.
func (p *Proxy) relayDown(c, up net.Conn) {
	buf := make([]byte, 16<<10)
	for {
		n, err := up.Read(buf)
		if n > 0 {
			if b := p.budget.Load(); b >= 0 {
				if int64(n) > b {
					c.Write(buf[:b])
					p.budget.Store(0)
					p.DropAll()
					return
				}
				p.budget.Add(-int64(n))
			}
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// DropAll closes every relayed connection; new ones are still accepted.
func (p *Proxy) DropAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// DropAfter lets n more bytes of answers through, then drops every
// connection (and keeps dropping until Heal).
func (p *Proxy) DropAfter(n int64) { p.budget.Store(n) }

// Heal relays without limit again.
func (p *Proxy) Heal() { p.budget.Store(-1) }

// Down stops listening and drops every connection: the port refuses.
func (p *Proxy) Down() {
	p.mu.Lock()
	ln := p.ln
	p.ln = nil
	p.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
	p.DropAll()
}

// Up listens again on the same port after Down.
func (p *Proxy) Up(t testing.TB) {
	t.Helper()
	var err error
	for range 50 {
		if err = p.listen(p.addr); err == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("proxy: listen again on %s: %v", p.addr, err)
}
