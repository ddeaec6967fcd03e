// Command otelhec runs the OpenTelemetry Collector contrib Splunk HEC receiver on its own, as a
// real HEC endpoint for ingestd's splunk_hec sink integration tests. Every log record the
// receiver accepts is written as one JSON line:
//
//	{"time":<unix nanos>,"body":<record body as JSON>,"attributes":{<resource and record attributes>}}
//
// Envelope metadata lands under the receiver's default names (host.name, com.splunk.source,
// com.splunk.sourcetype, com.splunk.index), the HEC "fields" under their own names, and the
// request's "Authorization: Splunk <token>" value under com.splunk.hec.access_token. Where a
// field and a metadata attribute share a name, the metadata wins.
//
// Usage: otelhec -listen 127.0.0.1:8088 [-out file] [-ack] [-debug]
//
// "ready <listen>" goes to stderr once the port accepts connections; SIGTERM or SIGINT stops it.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/ackextension"
	"github.com/open-telemetry/opentelemetry-collector-contrib/receiver/splunkhecreceiver"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.uber.org/zap"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "otelhec:", err)
		os.Exit(1)
	}
}

func run() error {
	listen := flag.String("listen", "", "host:port to serve HEC on; the port must be fixed (not 0)")
	out := flag.String("out", "", "file to append JSON lines to (default stdout)")
	ack := flag.Bool("ack", false, "enable indexer acknowledgement (in-memory ack extension, /services/collector/ack)")
	debug := flag.Bool("debug", false, "log the receiver's debug messages (rejected requests) to stderr")
	flag.Parse()
	if flag.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", flag.Args())
	}
	dialAddr, err := checkListen(*listen)
	if err != nil {
		return err
	}

	w := os.Stdout
	if *out != "" {
		if w, err = os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644); err != nil {
			return err
		}
		defer w.Close()
	}
	sink := &lineWriter{w: bufio.NewWriter(w)}
	logs, err := consumer.NewLogs(sink.consume)
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	factory := splunkhecreceiver.NewFactory()
	cfg := factory.CreateDefaultConfig().(*splunkhecreceiver.Config)
	cfg.Endpoint = *listen
	cfg.AccessTokenPassthrough = true
	set := receivertest.NewNopSettings(factory.Type())
	if *debug {
		if set.Logger, err = zap.NewDevelopment(); err != nil {
			return err
		}
	}

	host := &extHost{Host: componenttest.NewNopHost()}
	if *ack {
		id, ext, err := startAck(ctx, set)
		if err != nil {
			return err
		}
		defer ext.Shutdown(context.Background())
		cfg.Ack.Extension = &id
		host.exts = map[component.ID]component.Component{id: ext}
	}

	rcv, err := factory.CreateLogs(ctx, set, cfg, logs)
	if err != nil {
		return err
	}
	if err := rcv.Start(ctx, host); err != nil {
		return err
	}
	defer rcv.Shutdown(context.Background())

	if err := waitListening(ctx, dialAddr); err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "ready", *listen)
	<-ctx.Done()
	return nil
}

// checkListen insists on an explicit port: the receiver binds its own listener and does not
// report the address, so with port 0 nobody could tell where it went. It returns the address to
// probe for readiness.
func checkListen(listen string) (string, error) {
	if listen == "" {
		return "", errors.New("-listen host:port is required")
	}
	h, p, err := net.SplitHostPort(listen)
	if err != nil {
		return "", fmt.Errorf("-listen: %w", err)
	}
	if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("-listen %q: need a port from 1 to 65535", listen)
	}
	if ip := net.ParseIP(h); h == "" || ip != nil && ip.IsUnspecified() {
		h = "127.0.0.1"
	}
	return net.JoinHostPort(h, p), nil
}

// waitListening polls until addr accepts a connection, since Start returns before Serve runs.
func waitListening(ctx context.Context, addr string) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			return c.Close()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not listening after 10s: %w", addr, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// startAck starts the contrib in-memory ack extension; the receiver finds it through the host
// by the returned ID and asserts it to ackextension.AckExtension.
func startAck(ctx context.Context, rset receiver.Settings) (component.ID, extension.Extension, error) {
	f := ackextension.NewFactory()
	id := component.NewID(f.Type())
	set := extension.Settings{ID: id, TelemetrySettings: rset.TelemetrySettings, BuildInfo: rset.BuildInfo}
	ext, err := f.Create(ctx, set, f.CreateDefaultConfig())
	if err != nil {
		return id, nil, err
	}
	return id, ext, ext.Start(ctx, componenttest.NewNopHost())
}

// extHost is a nop host that hands the receiver the ack extension it looks up by ID.
type extHost struct {
	component.Host
	exts map[component.ID]component.Component
}

func (h *extHost) GetExtensions() map[component.ID]component.Component { return h.exts }

// record is one output line; field order is fixed by the struct.
type record struct {
	Time       int64          `json:"time"`
	Body       any            `json:"body"`
	Attributes map[string]any `json:"attributes"`
}

// lineWriter serialises concurrent requests and flushes after each batch, so a reader sees a
// request's records as soon as the receiver has answered it.
type lineWriter struct {
	mu sync.Mutex
	w  *bufio.Writer
}

func (lw *lineWriter) consume(_ context.Context, ld plog.Logs) error {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	enc := json.NewEncoder(lw.w)
	enc.SetEscapeHTML(false)
	for _, rl := range ld.ResourceLogs().All() {
		res := rl.Resource().Attributes()
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				attrs := lr.Attributes().AsRaw()
				for k, v := range res.All() {
					attrs[k] = v.AsRaw()
				}
				rec := record{Time: int64(lr.Timestamp()), Body: lr.Body().AsRaw(), Attributes: attrs}
				if err := enc.Encode(rec); err != nil {
					return err
				}
			}
		}
	}
	return lw.w.Flush()
}
