// Command ingestd runs the ingest server (SPEC §3). It stays thin: flags, config, signals;
// the engine is github.com/ingestd/ingestd/core.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	_ "time/tzdata" // parse's timezone option works in containers without a zone database

	"github.com/ingestd/ingestd/core"
	"github.com/ingestd/ingestd/core/config"
	_ "github.com/ingestd/ingestd/sinks/all"
	"github.com/ingestd/ingestd/wal"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const seedEvent = `{"timestamp":"2025-02-12T14:32:15Z","source":"payments-app","event":{"transactionId":"txn_30921","status":"approved","latency_ms":182,"amount":499,"currency":"USD"},"metadata":{"env":"prod","team":"payments"}}`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(args, stdout, stderr)
	case "validate":
		return validate(args, stdout, stderr)
	case "process":
		return processCmd(args, os.Stdin, stdout, stderr)
	case "dlq":
		return dlqCmd(args, stdout, stderr)
	case "wal":
		return walCmd(args, stdout, stderr)
	case "snowflake":
		return snowflakeCmd(args, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "ingestd", version)
		return 0
	case "help":
		usage(stdout)
		return 0
	default:
		fmt.Fprintf(stderr, "ingestd: unknown command %q\n", cmd)
		usage(stderr)
		return 2
	}
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage:
  ingestd [serve] [--config FILE] [--listen ADDR]   run the server (embedded default config without --config)
  ingestd validate --config FILE                    check a config; prints file:line: key: message per mistake
  ingestd process --config FILE --stream ID         run NDJSON events from stdin through a stream's
                                                    processors and routes; one result line per event
  ingestd dlq replay --config FILE --sink NAME      re-send a sink's dead-letter files; replayed files get .replayed
  ingestd wal inspect --dir DIR                     list a write-ahead log's segments, checkpoints and problems
  ingestd wal verify --dir DIR                      check every record's CRC; exit 1 at the first problem
  ingestd snowflake setup-sql --config FILE --sink NAME
                                                    print the Snowflake SQL (integration, stage, table,
                                                    auto-ingest pipe) for an s3 sink writing Parquet
  ingestd version                                   print the version
`)
}

func validate(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "config file to check")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *path == "" {
		fmt.Fprintln(stderr, "ingestd validate: --config FILE is required")
		return 2
	}
	if _, err := config.Load(*path); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: ok\n", *path)
	return 0
}

func processCmd(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("process", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "config file")
	stream := fs.String("stream", "", "id or name of the stream whose processors and routes to run")
	token := fs.String("token", "cli", "token name the events are taken as sent with (enrich's token fact)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *path == "" || *stream == "" {
		fmt.Fprintln(stderr, "ingestd process: --config FILE and --stream ID are required")
		return 2
	}
	cfg, err := config.Load(*path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if err := core.Tryout(cfg, *stream, *token, stdin, stdout); err != nil {
		fmt.Fprintln(stderr, "ingestd process:", err)
		return 1
	}
	return 0
}

func dlqCmd(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "replay" {
		fmt.Fprintln(stderr, "usage: ingestd dlq replay --config FILE --sink NAME [--attempts N]")
		return 2
	}
	fs := flag.NewFlagSet("dlq replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "config file")
	sink := fs.String("sink", "", "name of the sink whose dead-letter files to re-send")
	attempts := fs.Int("attempts", 5, "tries per batch while the sink answers with retryable errors")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if *path == "" || *sink == "" || *attempts < 1 {
		fmt.Fprintln(stderr, "ingestd dlq replay: --config FILE and --sink NAME are required")
		return 2
	}
	cfg, err := config.Load(*path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	rep, err := core.ReplayDeadLetters(context.Background(), cfg, *sink, *attempts)
	for _, f := range rep.Files {
		fmt.Fprintf(stdout, "replayed %s\n", f)
	}
	fmt.Fprintf(stdout, "%d event(s) re-sent to sink %q\n", rep.Events, *sink)
	if err != nil {
		fmt.Fprintln(stderr, "ingestd dlq replay:", err)
		return 1
	}
	return 0
}

func walCmd(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "inspect" && args[0] != "verify" {
		fmt.Fprintln(stderr, "usage: ingestd wal inspect|verify --dir DIR")
		return 2
	}
	fs := flag.NewFlagSet("wal "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "", "the log's directory")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if *dir == "" {
		fmt.Fprintln(stderr, "ingestd wal: --dir DIR is required")
		return 2
	}
	if args[0] == "verify" {
		if err := wal.Verify(*dir); err != nil {
			fmt.Fprintln(stderr, "ingestd wal verify:", err)
			return 1
		}
		fmt.Fprintf(stdout, "%s: ok\n", *dir)
		return 0
	}
	rep, err := wal.Inspect(*dir)
	if err != nil {
		fmt.Fprintln(stderr, "ingestd wal inspect:", err)
		return 1
	}
	// Event ids of logged requests are this id and the position, both in hex.
	fmt.Fprintf(stdout, "log id %016x\n", rep.ID)
	fmt.Fprintf(stdout, "%-26s %12s %12s %8s %14s %14s\n", "segment", "size", "valid", "records", "first", "last")
	for _, sg := range rep.Segments {
		fmt.Fprintf(stdout, "%-26s %12d %12d %8d %14d %14d\n", sg.Name, sg.Size, sg.Valid, sg.Records, sg.First, sg.Last)
	}
	for _, cp := range rep.Checkpoints {
		fmt.Fprintf(stdout, "checkpoint %s: %d\n", cp.Consumer, cp.Position)
	}
	for _, p := range rep.Problems {
		fmt.Fprintf(stdout, "problem: %s\n", p.Error())
	}
	return 0
}

func serve(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "config file (default: the embedded default config)")
	listen := fs.String("listen", "", "listen address, overriding server.listen")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	slog.SetDefault(log) // sinks and libraries log through the default logger

	var cfg *config.Config
	var token string
	var err error
	if *path == "" {
		cfg, token, err = config.Default()
	} else {
		cfg, err = config.Load(*path)
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if *listen != "" {
		cfg.Server.Listen = *listen
	}
	walProcs(cfg, log)

	// Signals are caught before "ready" is logged: a SIGHUP or SIGTERM sent as soon as a
	// supervisor sees it must reach the loop below, not the default action, which kills.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	ctx := context.Background()
	eng, err := core.New(ctx, cfg, core.WithLogger(log))
	if err != nil {
		log.Error("starting", "err", err)
		return 1
	}
	ln, err := net.Listen("tcp", cfg.Server.Listen)
	if err != nil {
		log.Error("listening", "err", err)
		_ = eng.Shutdown(ctx)
		return 1
	}
	addr := ln.Addr().String()
	log.Info("ingestd ready", "version", version, "listen", addr, "config", cfg.File)
	if *path == "" {
		printTryIt(stdout, addr, token, cfg.Streams[0].ID)
	}

	served := make(chan error, 1)
	go func() { served <- eng.Serve(ln) }()
wait:
	for {
		select {
		case err := <-served:
			if err != nil {
				log.Error("serving", "err", err)
				_ = eng.Shutdown(ctx)
				return 1
			}
			break wait
		case sig := <-sigs:
			if sig == syscall.SIGHUP {
				reload(ctx, eng, *path, *listen, log)
				continue
			}
			log.Info("draining", "signal", sig.String(), "grace_period", cfg.Server.GracePeriod)
			break wait
		}
	}
	sctx, cancel := context.WithTimeout(ctx, cfg.Server.GracePeriod)
	defer cancel()
	// The contract is exit 0 within the grace period either way: what the sinks could not take
	// in time is counted as dropped (ingestd_events_dropped_total, reason "shutdown"), and under
	// ack: disk it stays in the write-ahead log for the next start.
	if err := eng.Shutdown(sctx); err != nil {
		log.Error("shutdown incomplete", "err", err)
	}
	if err := <-served; err != nil && !errors.Is(err, net.ErrClosed) {
		log.Error("serving", "err", err)
	}
	log.Info("stopped")
	return 0
}

// walProcs gives the Go scheduler a second P when the write-ahead log is in use and it has only
// one (one CPU, or a CPU affinity of one): a goroutine in fsync keeps its P until the runtime
// takes it back, and with a single P every request then waits behind each group commit, so
// groups stay at one or two requests. On one pinned core the load test measured 336k events/s
// with one P and 905k with two. A GOMAXPROCS set by hand is left alone.
func walProcs(cfg *config.Config, log *slog.Logger) {
	if cfg.UsesWAL() && runtime.GOMAXPROCS(0) < 2 && os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(2)
		log.Info("GOMAXPROCS raised to 2 so that the write-ahead log's fsyncs do not stall requests; set GOMAXPROCS to choose")
	}
}

// reload re-reads the config file and swaps it in; on any error the running config stays.
func reload(ctx context.Context, eng *core.Engine, path, listen string, log *slog.Logger) {
	if path == "" {
		log.Warn("SIGHUP ignored: running on the embedded default config")
		return
	}
	cfg, err := config.Load(path)
	if err != nil {
		log.Error("reload refused: the config has errors; the running config stays", "err", err)
		eng.ReloadInvalid()
		return
	}
	if listen != "" {
		cfg.Server.Listen = listen
	}
	rctx, cancel := context.WithTimeout(ctx, cfg.Server.GracePeriod)
	defer cancel()
	if err := eng.Reload(rctx, cfg); err != nil {
		log.Error("reload failed", "err", err)
		return
	}
	log.Info("config reloaded", "config", path)
}

func printTryIt(w io.Writer, addr, token, streamID string) {
	fmt.Fprintf(w, `
ingestd is running on the embedded default config; events are stored under ./data.
Send the example event:

curl -sS -X POST "http://%s/v1/streams/ingest" \
  -H "Authorization: Bearer %s" \
  -H "Content-Type: application/json" \
  -H "X-Stream-Id: %s" \
  -d '%s'

`, addr, token, streamID, seedEvent)
}
