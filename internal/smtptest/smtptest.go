// Package smtptest runs a real SMTP server (emersion/go-smtp) on
// 127.0.0.1 for tests: it keeps what it accepts, answers the next messages
// with 4xx or 5xx on request, and goes down and comes back on its port.
package smtptest

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Message is one accepted mail.
type Message struct {
	From string
	To   []string
	Data []byte
}

// Server is the test peer.
type Server struct {
	Port int

	mu       sync.Mutex
	messages []Message
	answers  []int // codes for the next DATA commands
	srv      *smtp.Server
	// user and pass, when set, are the only credentials accepted (AUTH
	// PLAIN); a session that has not authenticated may not send.
	user, pass string
}

// RequireAuth makes the server accept mail only after AUTH PLAIN with
// these credentials.
func (s *Server) RequireAuth(user, pass string) {
	s.mu.Lock()
	s.user, s.pass = user, pass
	s.mu.Unlock()
}

// Start listens on 127.0.0.1:0; the server stops with the test.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{}
	if err := s.listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

func (s *Server) listen(addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := smtp.NewServer(backend{s})
	srv.Domain = "smtptest.local"
	srv.AllowInsecureAuth = true
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	s.mu.Lock()
	s.srv, s.Port = srv, l.Addr().(*net.TCPAddr).Port
	s.mu.Unlock()
	go srv.Serve(l)
	return nil
}

// Stop closes the listener and every connection: the server is down.
func (s *Server) Stop() {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
}

// Restart brings a stopped server back on its port.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	var err error
	for range 50 { // the port may take a moment to be free again
		if err = s.listen(fmt.Sprintf("127.0.0.1:%d", s.Port)); err == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("smtptest: listen again on %d: %v", s.Port, err)
}

// Answer makes the next DATA commands fail with these codes (4xx: try
// again later, 5xx: rejected), one per message, then accept again.
func (s *Server) Answer(codes ...int) {
	s.mu.Lock()
	s.answers = append(s.answers, codes...)
	s.mu.Unlock()
}

// Messages returns what was accepted so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

type backend struct{ s *Server }

func (b backend) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{s: b.s}, nil }

type session struct {
	s      *Server
	from   string
	to     []string
	authed bool
}

func (x *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (x *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		x.s.mu.Lock()
		defer x.s.mu.Unlock()
		if x.s.user == "" || user != x.s.user || pass != x.s.pass {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "smtptest: bad credentials"}
		}
		x.authed = true
		return nil
	}), nil
}

func (x *session) Reset()        { x.from, x.to = "", nil }
func (x *session) Logout() error { return nil }

func (x *session) Mail(from string, _ *smtp.MailOptions) error {
	x.s.mu.Lock()
	need := x.s.user != "" && !x.authed
	x.s.mu.Unlock()
	if need {
		return smtp.ErrAuthRequired
	}
	x.from = from
	return nil
}

func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.to = append(x.to, to)
	return nil
}

func (x *session) Data(r io.Reader) error {
	var b bytes.Buffer
	if _, err := io.Copy(&b, r); err != nil {
		return err
	}
	x.s.mu.Lock()
	defer x.s.mu.Unlock()
	if len(x.s.answers) > 0 {
		code := x.s.answers[0]
		x.s.answers = x.s.answers[1:]
		enh := smtp.EnhancedCode{code / 100, 0, 0}
		return &smtp.SMTPError{Code: code, EnhancedCode: enh, Message: fmt.Sprintf("smtptest answers %d", code)}
	}
	x.s.messages = append(x.s.messages, Message{From: x.from, To: append([]string(nil), x.to...), Data: b.Bytes()})
	return nil
}
