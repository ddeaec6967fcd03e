package s3

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ingestd/ingestd/sinks/parquet"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// parquetOptions returns valid options of a parquet sink with every promoted type.
func parquetOptions() *Options {
	o := NewOptions()
	o.Bucket, o.Region, o.Format = "acme-events", "eu-west-1", FormatParquet
	o.Key = "ingest/events/{stream}/dt={date}/hour={hour}/{uuid}.parquet"
	o.Parquet = &ParquetOptions{Columns: []parquet.Column{
		{Path: "event.amount", Type: "double"},
		{Path: "event.count", Type: "int64"},
		{Path: "event.status", Type: "string"},
		{Path: "event.ok", Type: "bool"},
		{Path: "event.at", Type: "timestamp"},
		{Path: "event.user-id", Type: "string"},
	}}
	return o
}

func setupSQL(t *testing.T, sink string, o *Options, p SetupParams) string {
	t.Helper()
	var b bytes.Buffer
	if err := SnowflakeSetupSQL(&b, sink, o, p); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestSnowflakeSetupSQLGolden holds the whole script to testdata/snowflake_setup.golden; run
// with -update after a deliberate change and review the diff.
func TestSnowflakeSetupSQLGolden(t *testing.T) {
	got := setupSQL(t, "lake", parquetOptions(), SetupParams{})
	path := filepath.Join("testdata", "snowflake_setup.golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (rerun with -update to accept):\n%s", path, got)
	}
}

// TestSnowflakeColumnsMatchSchema: the table has exactly the Parquet columns, the fixed ones
// first, each read from its own element with its type.
func TestSnowflakeColumnsMatchSchema(t *testing.T) {
	f, err := newParquetFormat(parquetOptions().Parquet)
	if err != nil {
		t.Fatal(err)
	}
	cols, err := snowflakeColumns(f.schema.Columns())
	if err != nil {
		t.Fatal(err)
	}
	want := []sfColumn{
		{`"TIMESTAMP"`, "TIMESTAMP_NTZ(9)", "TO_TIMESTAMP_NTZ($1:timestamp::NUMBER(19,0), 9)"},
		{`"RECEIVED_AT"`, "TIMESTAMP_NTZ(9)", "TO_TIMESTAMP_NTZ($1:received_at::NUMBER(19,0), 9)"},
		{`"EVENT_ID"`, "VARCHAR", "$1:event_id::VARCHAR"},
		{`"STREAM_ID"`, "VARCHAR", "$1:stream_id::VARCHAR"},
		{`"SOURCE"`, "VARCHAR", "$1:source::VARCHAR"},
		{`"EVENT"`, "VARIANT", "PARSE_JSON($1:event::VARCHAR)"},
		{`"METADATA"`, "VARIANT", "PARSE_JSON($1:metadata::VARCHAR)"},
		{`"EXTRA"`, "VARIANT", "PARSE_JSON($1:extra::VARCHAR)"},
		{`"EVENT_AMOUNT"`, "FLOAT", "$1:event_amount::FLOAT"},
		{`"EVENT_AT"`, "TIMESTAMP_NTZ(9)", "TO_TIMESTAMP_NTZ($1:event_at::NUMBER(19,0), 9)"},
		{`"EVENT_COUNT"`, "NUMBER(19,0)", "$1:event_count::NUMBER(19,0)"},
		{`"EVENT_OK"`, "BOOLEAN", "$1:event_ok::BOOLEAN"},
		{`"EVENT_STATUS"`, "VARCHAR", "$1:event_status::VARCHAR"},
		{`"event_user-id"`, "VARCHAR", "$1['event_user-id']::VARCHAR"},
	}
	if !reflect.DeepEqual(cols, want) {
		t.Errorf("got  %v\nwant %v", cols, want)
	}
	if n := len(f.schema.Columns()); n != len(want) {
		t.Errorf("%d Parquet columns, %d table columns", n, len(want))
	}
}

// TestSnowflakeHostileNames: quotes, backslashes, line breaks and reserved words in the names
// stay inside their identifiers, strings and comments.
func TestSnowflakeHostileNames(t *testing.T) {
	o := parquetOptions()
	o.Bucket = "b'x"
	o.Key = "it's\\here/{stream}/{uuid}"
	got := setupSQL(t, "la\"ke\n DROP TABLE x; --", o, SetupParams{
		Database: `my "db"`,
		Schema:   "order",
		Table:    "select",
		RoleARN:  "arn:aws:iam::123456789012:role/o'neil\\",
	})
	for _, want := range []string{
		"-- Snowflake stage loading for the ingestd s3 sink la\"ke? DROP TABLE x; -- (bucket b'x, region eu-west-1).\n",
		`CREATE DATABASE IF NOT EXISTS "my ""db""";`,
		`CREATE SCHEMA IF NOT EXISTS "my ""db"""."ORDER";`,
		`CREATE STORAGE INTEGRATION IF NOT EXISTS "INGESTD_LA_KE__DROP_TABLE_X_____S3"`,
		`STORAGE_AWS_ROLE_ARN = 'arn:aws:iam::123456789012:role/o''neil\\'`,
		`STORAGE_ALLOWED_LOCATIONS = ('s3://b''x/it''s\\here/');`,
		`CREATE TABLE IF NOT EXISTS "my ""db"""."ORDER"."SELECT" (`,
		`SHOW PIPES LIKE 'LA_KE__DROP_TABLE_X_____PIPE' IN SCHEMA "my ""db"""."ORDER";`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	// No name breaks out of a comment: every line is a comment, blank, or SQL we wrote.
	for _, l := range strings.Split(got, "\n") {
		if strings.Contains(l, "DROP") && !strings.HasPrefix(l, "--") && !strings.Contains(l, `"INGESTD_LA_KE__DROP`) && !strings.Contains(l, `"LA_KE__DROP`) {
			t.Errorf("name escaped its quoting: %q", l)
		}
	}
	// The key has no .parquet ending: no PATTERN.
	if strings.Contains(got, "PATTERN") {
		t.Error("PATTERN for a key that does not end in .parquet")
	}
}

func TestSnowflakeQuoting(t *testing.T) {
	for in, want := range map[string]string{
		"events": `"EVENTS"`, "My_Table$1": `"MY_TABLE$1"`, "_x": `"_X"`,
		"1st": `"1st"`, "$x": `"$x"`, "a b": `"a b"`, `q"q`: `"q""q"`, "événements": `"événements"`,
	} {
		if got := sqlIdent(in); got != want {
			t.Errorf("sqlIdent(%q) = %s, want %s", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"plain": `'plain'`, "o'neil": `'o''neil'`, `a\b`: `'a\\b'`, "a\nb\x7f": `'a\x0ab\x7f'`, "": `''`,
	} {
		if got := sqlString(in); got != want {
			t.Errorf("sqlString(%q) = %s, want %s", in, got, want)
		}
	}
	if got := sqlComment("a\r\nb\tc"); got != "a??b?c" {
		t.Errorf("sqlComment: %q", got)
	}
}

func TestSnowflakeStageLocation(t *testing.T) {
	for key, want := range map[string]string{
		"{stream}/dt={date}/{uuid}.parquet": "s3://bkt/",
		"raw/events/{stream}/{uuid}":        "s3://bkt/raw/events/",
		"raw/ev-{stream}/{uuid}":            "s3://bkt/raw/",
		"prefix-{uuid}":                     "s3://bkt/",
	} {
		tmpl, err := parseKey(key)
		if err != nil {
			t.Fatal(err)
		}
		if got := stageLocation("bkt", tmpl); got != want {
			t.Errorf("%s: %s, want %s", key, got, want)
		}
	}
}

func TestSnowflakeDefaults(t *testing.T) {
	p := SetupParams{Table: "raw", RoleARN: "arn:aws:iam::1:role/r"}.withDefaults("edge-lake.2")
	want := SetupParams{Database: "INGESTD", Schema: "PUBLIC", Integration: "INGESTD_EDGE_LAKE_2_S3",
		Stage: "EDGE_LAKE_2_STAGE", FileFormat: "EDGE_LAKE_2_PARQUET", Table: "raw",
		Pipe: "EDGE_LAKE_2_PIPE", RoleARN: "arn:aws:iam::1:role/r"}
	if p != want {
		t.Errorf("got  %+v\nwant %+v", p, want)
	}
	got := setupSQL(t, "lake", parquetOptions(), SetupParams{RoleARN: "arn:aws:iam::1:role/r"})
	if strings.Contains(got, "Replace the role ARN") || !strings.Contains(got, "STORAGE_AWS_ROLE_ARN = 'arn:aws:iam::1:role/r'") {
		t.Errorf("a given role ARN:\n%s", got)
	}
	// A region left to the AWS chain is not named.
	o := parquetOptions()
	o.Region = ""
	if got := setupSQL(t, "lake", o, SetupParams{}); !strings.HasPrefix(got, "-- Snowflake stage loading for the ingestd s3 sink lake (bucket acme-events).\n") {
		t.Errorf("no region:\n%s", got)
	}
}

type failingWriter struct{}

var errFull = errors.New("no space left")

func (failingWriter) Write([]byte) (int, error) { return 0, errFull }

func TestSnowflakeSetupSQLErrors(t *testing.T) {
	long := strings.Repeat("x", 256)
	for _, tc := range []struct {
		name string
		edit func(*Options, *SetupParams)
		want string
	}{
		{"ndjson", func(o *Options, _ *SetupParams) { o.Format, o.Parquet = FormatNDJSONGzip, nil },
			`s3 sink "lake" writes format "ndjson_gzip": Snowflake stage loading needs format: parquet`},
		{"endpoint", func(o *Options, _ *SetupParams) { o.Endpoint = "http://minio:9000" },
			`s3 sink "lake" has an endpoint (http://minio:9000): Snowflake storage integrations read AWS S3 only`},
		{"invalid options", func(o *Options, _ *SetupParams) { o.Bucket = "" },
			`s3 sink "lake": invalid options: bucket: is required`},
		{"invalid parquet", func(o *Options, _ *SetupParams) { o.Parquet.Compression = "lz4" },
			`s3 sink "lake": invalid options: parquet: compression must be snappy or zstd, not "lz4"`},
		{"role", func(_ *Options, p *SetupParams) { p.RoleARN = "my-role" },
			`role ARN "my-role" is not an ARN (arn:aws:iam::<account>:role/<name>)`},
		{"long table", func(_ *Options, p *SetupParams) { p.Table = long },
			`table name "` + long + `" is longer than 255 characters`},
		{"control", func(_ *Options, p *SetupParams) { p.Schema = "a\nb" },
			`schema name "a\nb" has a control character`},
		{"long column", func(o *Options, _ *SetupParams) {
			o.Parquet.Columns = append(o.Parquet.Columns, parquet.Column{Path: "event." + long, Type: "int64"})
		}, `column name "event_` + long + `" is longer than 255 characters`},
		{"same column", func(o *Options, _ *SetupParams) {
			o.Parquet.Columns = append(o.Parquet.Columns, parquet.Column{Path: "EVENT.AMOUNT", Type: "double"})
		}, `columns "EVENT_AMOUNT" and "event_amount" are the same Snowflake column "EVENT_AMOUNT": rename one of the promoted paths`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, p := parquetOptions(), SetupParams{}
			tc.edit(o, &p)
			var b bytes.Buffer
			err := SnowflakeSetupSQL(&b, "lake", o, p)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("err %v\nwant %s", err, tc.want)
			}
			if b.Len() != 0 {
				t.Errorf("wrote %d bytes before failing", b.Len())
			}
		})
	}
	if err := SnowflakeSetupSQL(failingWriter{}, "lake", parquetOptions(), SetupParams{}); !errors.Is(err, errFull) {
		t.Errorf("write error: %v", err)
	}
}
