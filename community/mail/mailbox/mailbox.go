// Package mailbox is an SMTP server in the process (RFC 5321, on
// github.com/emersion/go-smtp) that keeps the mails it receives in memory:
// the tests and the benches read the mails back from it, and the demo
// runs one so that a newcomer can see the mails on its local mailbox page
// (docs/community-tv.md §8). It is not a mail service: it listens on the
// loopback only and forgets everything when the process ends.
package mailbox

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log"
	"mime"
	"net"
	"net/mail"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Mail is one mail received.
type Mail struct {
	From     string
	To       []string
	Subject  string
	Body     string
	Received time.Time
	// Raw is the DATA as received.
	Raw []byte
}

// Server is the running server and its mails.
type Server struct {
	srv *smtp.Server
	ln  net.Listener

	mu     sync.Mutex
	mails  []Mail
	refuse int
	notify chan struct{}
	opts   Options
}

// Options make the server ask what a real one asks: STARTTLS (RFC 3207)
// offered with TLS, and AUTH PLAIN (RFC 4954) required with User.
type Options struct {
	TLS            *tls.Config
	User, Password string
	// Addr is the loopback host:port to listen at; empty is 127.0.0.1 at
	// a free port. A bench names it, so that the server it measures can
	// be started with --smtp before the bench runs.
	Addr string
}

// Start listens on 127.0.0.1 at a free port and serves until Close.
func Start() (*Server, error) { return StartWith(Options{}) }

// StartWith is Start with the options: at o.Addr when it is given.
func StartWith(o Options) (*Server, error) {
	addr := o.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	if host, _, err := net.SplitHostPort(addr); err != nil || !net.ParseIP(host).IsLoopback() {
		return nil, fmt.Errorf("mailbox: %q is not a loopback host:port", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Server{ln: ln, notify: make(chan struct{}), opts: o}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{s: s}, nil }))
	s.srv.TLSConfig = o.TLS
	// A client that hangs up mid-way is the client's affair, not a log line.
	s.srv.ErrorLog = log.New(io.Discard, "", 0)
	s.srv.Domain = "localhost"
	s.srv.ReadTimeout, s.srv.WriteTimeout = 30*time.Second, 30*time.Second
	s.srv.MaxMessageBytes = 1 << 20
	s.srv.MaxRecipients = 10
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops the server.
func (s *Server) Close() error { return s.srv.Close() }

// Refuse makes the server refuse the next n mails with a temporary
// failure (451), as a busy server does.
func (s *Server) Refuse(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refuse = n
}

// Mails are the mails received so far, oldest first.
func (s *Server) Mails() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.mails)
}

// Wait returns the mails once there are at least n, or ctx's error.
func (s *Server) Wait(ctx context.Context, n int) ([]Mail, error) {
	for {
		s.mu.Lock()
		got, ch := slices.Clone(s.mails), s.notify
		s.mu.Unlock()
		if len(got) >= n {
			return got, nil
		}
		select {
		case <-ctx.Done():
			return got, fmt.Errorf("mailbox: %d mails, want %d: %w", len(got), n, ctx.Err())
		case <-ch:
		}
	}
}

func (s *Server) receive(m Mail) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refuse > 0 {
		s.refuse--
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "busy, try again later"}
	}
	s.mails = append(s.mails, m)
	close(s.notify)
	s.notify = make(chan struct{})
	return nil
}

type session struct {
	s      *Server
	from   string
	to     []string
	authed bool
}

// AuthMechanisms offers PLAIN when the server has a user.
func (ss *session) AuthMechanisms() []string {
	if ss.s.opts.User == "" {
		return nil
	}
	return []string{sasl.Plain}
}

// Auth checks the user's password.
func (ss *session) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain || ss.s.opts.User == "" {
		return nil, smtp.ErrAuthUnsupported
	}
	return sasl.NewPlainServer(func(_, user, password string) error {
		if user != ss.s.opts.User || password != ss.s.opts.Password {
			return smtp.ErrAuthFailed
		}
		ss.authed = true
		return nil
	}), nil
}

func (ss *session) Reset()        { ss.from, ss.to = "", nil }
func (ss *session) Logout() error { return nil }

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if ss.s.opts.User != "" && !ss.authed {
		return smtp.ErrAuthRequired
	}
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m, err := Parse(raw)
	if err != nil {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: err.Error()}
	}
	m.From, m.To, m.Received = ss.from, slices.Clone(ss.to), time.Now()
	return ss.s.receive(m)
}

// Parse reads a plain-text mail: its subject decoded (RFC 2047) and its
// body decoded (base64 or as it is).
func Parse(raw []byte) (Mail, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return Mail{}, err
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		return Mail{}, err
	}
	var body io.Reader = msg.Body
	if strings.EqualFold(msg.Header.Get("Content-Transfer-Encoding"), "base64") {
		body = base64.NewDecoder(base64.StdEncoding, msg.Body)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return Mail{}, errors.Join(errors.New("mailbox: the body"), err)
	}
	return Mail{Subject: subject, Body: strings.ReplaceAll(string(b), "\r\n", "\n"), Raw: raw}, nil
}
