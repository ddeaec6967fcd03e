package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// `ingestd snowflake setup-sql` prints the stage-loading SQL for an s3 sink writing Parquet, with
// the promoted columns typed, and refuses sinks it cannot serve with a clear message.
func TestEndToEndSnowflakeSetupSQL(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "lake.yaml")
	yaml := `server: {ack: memory}
tokens: [{name: t, token: "` + starToken + `", streams: ["*"]}]
streams: [{id: s1, sinks: [lake, plain, local]}]
sinks:
  - name: lake
    type: s3
    bucket: acme-events
    region: eu-west-1
    key: "ingest/events/{stream}/dt={date}/{uuid}.parquet"
    format: parquet
    parquet: {columns: [{path: event.amount, type: double}, {path: event.status, type: string}]}
  - {name: plain, type: s3, bucket: acme-events, region: eu-west-1}
  - {name: local, type: file, path: "` + filepath.Join(dir, "out", "{stream}.ndjson") + `"}
`
	if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runIngestd(t, dir, nil, "snowflake", "setup-sql", "--config", cfg, "--sink", "lake",
		"--database", "ANALYTICS", "--schema", "RAW", "--role-arn", "arn:aws:iam::123456789012:role/sf-lake")
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	for _, want := range []string{
		`CREATE STORAGE INTEGRATION IF NOT EXISTS "INGESTD_LAKE_S3"`,
		`STORAGE_AWS_ROLE_ARN = 'arn:aws:iam::123456789012:role/sf-lake'`,
		`STORAGE_ALLOWED_LOCATIONS = ('s3://acme-events/ingest/events/')`,
		`"ANALYTICS"."RAW"."LAKE_EVENTS"`,
		`"EVENT_ID" VARCHAR`,
		`AUTO_INGEST = TRUE`,
		`PARTITION BY "EVENT_ID"`,
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("setup SQL lacks %q:\n%s", want, stdout)
		}
	}
	for _, c := range []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"snowflake", "setup-sql", "--config", cfg, "--sink", "plain"}, 1, "parquet"},
		{[]string{"snowflake", "setup-sql", "--config", cfg, "--sink", "local"}, 1, `sink "local" is of type "file"`},
		{[]string{"snowflake", "setup-sql", "--config", cfg, "--sink", "nowhere"}, 1, `no sink named "nowhere"`},
		{[]string{"snowflake", "setup-sql", "--config", cfg}, 2, "usage: ingestd snowflake setup-sql"},
		{[]string{"snowflake", "teardown"}, 2, "usage: ingestd snowflake setup-sql"},
		{[]string{"snowflake", "setup-sql", "--config", cfg, "--sink", "lake", "--role-arn", "nope"}, 1, "arn:"},
	} {
		code, stdout, stderr := runIngestd(t, dir, nil, c.args...)
		if code != c.code || stdout != "" || !strings.Contains(stderr, c.stderr) {
			t.Errorf("ingestd %q: exit %d, stdout %q, stderr %q; want exit %d and %q", c.args, code, stdout, stderr, c.code, c.stderr)
		}
	}
}
