package syslog

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// rsyslog is a real rsyslogd listening on loopback TCP and UDP ports. It writes every message
// twice: as received (%rawmsg%) to raw.log and as parsed into its fields to fields.log.
type rsyslog struct {
	tcp, udp string // addresses
	dir      string
}

func startRsyslog(t testing.TB) *rsyslog {
	t.Helper()
	dir := t.TempDir()
	r := &rsyslog{tcp: freePort(t, "tcp"), udp: freePort(t, "udp"), dir: dir}
	_, tcpPort, _ := net.SplitHostPort(r.tcp)
	_, udpPort, _ := net.SplitHostPort(r.udp)
	conf := fmt.Sprintf(`global(workDirectory=%[1]q maxMessageSize="64k")
module(load="imtcp")
module(load="imudp")
input(type="imtcp" address="127.0.0.1" port=%[2]q)
input(type="imudp" address="127.0.0.1" port=%[3]q)
template(name="raw" type="string" string="%%rawmsg%%\n")
template(name="fields" type="string" string="%%pri%%|%%timereported:::date-rfc3339%%|%%hostname%%|%%app-name%%|%%msgid%%|%%structured-data%%|%%msg%%\n")
action(type="omfile" file=%[4]q template="raw")
action(type="omfile" file=%[5]q template="fields")
`, dir, tcpPort, udpPort, filepath.Join(dir, "raw.log"), filepath.Join(dir, "fields.log"))
	r.run(t, conf)
	return r
}

// run starts rsyslogd on conf, stops it when t ends, and waits until it listens on r.tcp.
func (r *rsyslog) run(t testing.TB, conf string) {
	t.Helper()
	bin, err := exec.LookPath("rsyslogd")
	if err != nil {
		t.Fatal("rsyslogd is not on PATH; the syslog integration tests need it: apt-get install -y rsyslog rsyslog-gnutls")
	}
	confFile := filepath.Join(r.dir, "rsyslog.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-n", "-f", confFile, "-i", filepath.Join(r.dir, "rsyslogd.pid"))
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	})
	for deadline := time.Now().Add(10 * time.Second); ; {
		c, err := net.Dial("tcp", r.tcp)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("rsyslogd does not listen on %s: %v\n%s", r.tcp, err, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// freePort returns a loopback address whose port was free a moment ago.
func freePort(t testing.TB, network string) string {
	t.Helper()
	if network == "udp" {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		return pc.LocalAddr().String()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// lines waits until file holds n lines and returns them.
func (r *rsyslog) lines(t testing.TB, file string, n int) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		data, _ := os.ReadFile(filepath.Join(r.dir, file))
		lines := strings.SplitAfter(string(data), "\n")
		if len(lines) > n || time.Now().After(deadline) {
			if len(lines) <= n {
				t.Fatalf("%s has %d complete lines, want %d:\n%s", file, len(lines)-1, n, data)
			}
			for i := range lines {
				lines[i] = strings.TrimSuffix(lines[i], "\n")
			}
			return lines[:n]
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestRsyslog(t *testing.T) {
	r := startRsyslog(t)
	ctx := context.Background()
	sdOpts := func(o *Options) {
		o.AppNameField, o.MsgIDField, o.SeverityField = "source", "event.status", "level"
		o.StructuredData = map[string]map[string]string{"ingest@32473": {"env": "metadata.env", "note": "note"}}
	}
	withNote := `{"timestamp":"2025-02-12T14:32:15.25Z","source":"payments-app","level":"error","event":{"status":"declined"},"metadata":{"env":"prod"},"note":"a \"b\" ] \\ c"}`
	multiLine := `{"timestamp":"2025-02-12T14:32:16Z","m":"one\ntwo"}`

	// rfc5424, octet-counted over TCP.
	s := newSink(t, r.tcp, sdOpts)
	if err := s.WriteBatch(ctx, batch(event, withNote)); err != nil {
		t.Fatal(err)
	}
	// rfc5424 with an embedded newline, octet-counted.
	s2 := newSink(t, r.tcp, func(o *Options) { o.MessageField = "m" })
	if err := s2.WriteBatch(ctx, batch(multiLine)); err != nil {
		t.Fatal(err)
	}
	r.lines(t, "raw.log", 3) // in this order: one sender at a time
	// rfc3164, LF-framed over TCP.
	s3 := newSink(t, r.tcp, func(o *Options) {
		o.Format, o.Framing, o.Facility, o.AppName = FormatRFC3164, FramingNonTransparent, "local0", "pay"
	})
	if err := s3.WriteBatch(ctx, batch(event)); err != nil {
		t.Fatal(err)
	}
	r.lines(t, "raw.log", 4)
	// rfc5424 over UDP.
	s4 := newSink(t, r.udp, func(o *Options) { o.Transport = TransportUDP })
	if err := s4.WriteBatch(ctx, batch(event)); err != nil {
		t.Fatal(err)
	}

	wantRaw := []string{
		`<14>1 2025-02-12T14:32:15Z host payments-app - declined [ingest@32473 env="prod"] ` + event,
		`<11>1 2025-02-12T14:32:15.25Z host payments-app - declined [ingest@32473 env="prod" note="a \"b\" \] \\ c"] ` + withNote,
		"<14>1 2025-02-12T14:32:16Z host ingestd - - - one#012two",
		"<134>Feb 12 14:32:15 host pay: " + event,
		"<14>1 2025-02-12T14:32:15Z host ingestd - - - " + event,
	}
	for i, got := range r.lines(t, "raw.log", len(wantRaw)) {
		if got != wantRaw[i] {
			t.Errorf("raw message %d:\n got %s\nwant %s", i, got, wantRaw[i])
		}
	}
	wantFields := []string{
		`14|2025-02-12T14:32:15Z|host|payments-app|declined|[ingest@32473 env="prod"]|` + event,
		`11|2025-02-12T14:32:15.25Z|host|payments-app|declined|[ingest@32473 env="prod" note="a \"b\" \] \\ c"]|` + withNote,
		"14|2025-02-12T14:32:16Z|host|ingestd|-|-|one#012two",
		"134|…|host|pay|-|-| " + event, // rsyslog keeps the space after the tag in the MSG
		"14|2025-02-12T14:32:15Z|host|ingestd|-|-|" + event,
	}
	for i, got := range r.lines(t, "fields.log", len(wantFields)) {
		if i == 3 { // RFC 3164 carries no year or zone: rsyslog adds its own
			if !strings.HasPrefix(got, "134|") || !strings.HasSuffix(got, "|host|pay|-|-| "+event) {
				t.Errorf("parsed message %d:\n got %s\nwant %s", i, got, wantFields[i])
			}
			continue
		}
		if got != wantFields[i] {
			t.Errorf("parsed message %d:\n got %s\nwant %s", i, got, wantFields[i])
		}
	}
}
