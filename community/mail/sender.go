package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/mail"
	"net/smtp"
	"strings"
	"time"
)

// Config is how to reach the SMTP server (serve's --smtp, --smtp-from,
// --smtp-user and --smtp-password-file).
type Config struct {
	// Addr is the server's host:port.
	Addr string
	// From is the envelope and header sender, an address.
	From string
	// Username and Password, when Username is set, log in with AUTH
	// PLAIN; net/smtp refuses PLAIN without TLS except to localhost.
	Username, Password string
	// StartTLS requires the server's STARTTLS before anything is sent;
	// without it STARTTLS is used when the server offers it. TLS is the
	// configuration for it (nil: the system roots, ServerName the host).
	StartTLS bool
	TLS      *tls.Config
	// DialTimeout bounds the connection (10 s when 0), Deadline the whole
	// conversation for one mail (30 s when 0).
	DialTimeout, Deadline time.Duration
}

// ErrConfig is a configuration that cannot send.
var ErrConfig = errors.New("mail: configuration")

// Validate checks the configuration, naming what is wrong in Japanese and
// English.
func (c Config) Validate() error {
	var bad []string
	host, port, err := net.SplitHostPort(c.Addr)
	if err != nil || host == "" || port == "" {
		bad = append(bad, fmt.Sprintf("--smtp はホスト:ポートで / --smtp is host:port (not %q)", c.Addr))
	}
	if a, err := mail.ParseAddress(c.From); err != nil || a.Name != "" || a.Address != c.From {
		bad = append(bad, fmt.Sprintf("--smtp-from はメールアドレスで / --smtp-from is an address (not %q)", c.From))
	}
	if c.Username != "" && c.Password == "" {
		bad = append(bad, "--smtp-user にはパスワードが要ります / --smtp-user needs --smtp-password-file")
	}
	if len(bad) > 0 {
		return fmt.Errorf("%w: %s", ErrConfig, strings.Join(bad, ", "))
	}
	return nil
}

// Message is one mail to one recipient, in plain text.
type Message struct {
	To, Subject, Body string
}

// Sender sends mails over SMTP, one conversation per mail.
type Sender struct {
	cfg Config
	now func() time.Time
}

// NewSender checks cfg and returns its sender.
func NewSender(cfg Config, now func() time.Time) (*Sender, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.DialTimeout == 0 {
		cfg.DialTimeout = 10 * time.Second
	}
	if cfg.Deadline == 0 {
		cfg.Deadline = 30 * time.Second
	}
	if now == nil {
		now = time.Now
	}
	return &Sender{cfg: cfg, now: now}, nil
}

// From is the sender's address.
func (s *Sender) From() string { return s.cfg.From }

// Send hands m to the SMTP server: it is sent when the server accepted
// the DATA. A refusal (4xx/5xx) or a broken connection is an error; the
// outbox retries it.
func (s *Sender) Send(ctx context.Context, m Message) error {
	to, err := mail.ParseAddress(m.To)
	if err != nil {
		return fmt.Errorf("mail: recipient %q: %w", m.To, err)
	}
	msg, err := Format(s.cfg.From, to.Address, m, s.now())
	if err != nil {
		return err
	}
	d := net.Dialer{Timeout: s.cfg.DialTimeout}
	conn, err := d.DialContext(ctx, "tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("mail: dial %s: %w", s.cfg.Addr, err)
	}
	defer conn.Close()
	deadline := time.Now().Add(s.cfg.Deadline)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	if err := conn.SetDeadline(deadline); err != nil {
		return err
	}
	host, _, _ := net.SplitHostPort(s.cfg.Addr)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return fmt.Errorf("mail: greeting: %w", err)
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); ok {
		tc := s.cfg.TLS
		if tc == nil {
			tc = &tls.Config{ServerName: host}
		}
		if err := c.StartTLS(tc); err != nil {
			return fmt.Errorf("mail: STARTTLS: %w", err)
		}
	} else if s.cfg.StartTLS {
		return fmt.Errorf("mail: %s does not offer STARTTLS", s.cfg.Addr)
	}
	if s.cfg.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", s.cfg.Username, s.cfg.Password, host)); err != nil {
			return fmt.Errorf("mail: AUTH PLAIN: %w", err)
		}
	}
	if err := c.Mail(s.cfg.From); err != nil {
		return fmt.Errorf("mail: MAIL FROM: %w", err)
	}
	if err := c.Rcpt(to.Address); err != nil {
		return fmt.Errorf("mail: RCPT TO: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("mail: DATA: %w", err)
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("mail: DATA: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("mail: DATA: %w", err)
	}
	// The mail is the server's now; a failed QUIT does not unsend it.
	_ = c.Quit()
	return nil
}

// Format is m as RFC 5322 text: UTF-8, the subject as an encoded word
// (RFC 2047), the body in base64 lines (RFC 2045) so that any text passes
// any server.
func Format(from, to string, m Message, at time.Time) ([]byte, error) {
	for _, s := range []string{from, to, m.Subject} {
		if strings.ContainsAny(s, "\r\n") {
			return nil, fmt.Errorf("mail: a line break in a header")
		}
	}
	// A Message-ID (RFC 5322 §3.6.4) in the sender's domain: servers and
	// spam filters expect one.
	id := make([]byte, 12)
	if _, err := rand.Read(id); err != nil {
		return nil, err
	}
	_, domain, _ := strings.Cut(from, "@")
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%x@%s>\r\nMIME-Version: 1.0\r\n", from, to,
		mime.BEncoding.Encode("UTF-8", m.Subject), at.Format(time.RFC1123Z), id, domain)
	b.WriteString("Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	enc := base64.StdEncoding.EncodeToString([]byte(strings.ReplaceAll(m.Body, "\n", "\r\n")))
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n")
	return b.Bytes(), nil
}
