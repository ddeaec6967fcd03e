package s3

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/ingestd/ingestd/sinks/parquet"
)

// SetupParams names the Snowflake objects SnowflakeSetupSQL creates. An empty field takes its
// default, derived from the sink name in upper case with every character other than a letter,
// a digit or '_' replaced by '_' (sink "lake" gives LAKE).
//
// A name made of letters, digits, '_' and '$', not starting with a digit, follows Snowflake's
// rule for unquoted identifiers: it is case-insensitive and stored in upper case. Any other
// name is taken verbatim, case and all. Either way it is written quoted, so a reserved word
// such as ORDER is a valid name.
type SetupParams struct {
	Database    string // default INGESTD
	Schema      string // default PUBLIC
	Integration string // default INGESTD_<SINK>_S3; an account-level object
	Stage       string // default <SINK>_STAGE
	FileFormat  string // default <SINK>_PARQUET
	Table       string // default <SINK>_EVENTS
	Pipe        string // default <SINK>_PIPE
	// RoleARN is the AWS IAM role Snowflake assumes to read the bucket. Empty writes a
	// placeholder to be replaced before the script is run.
	RoleARN string
}

// RoleARNPlaceholder stands for the role when SetupParams.RoleARN is empty.
const RoleARNPlaceholder = "arn:aws:iam::<AWS_ACCOUNT_ID>:role/<ROLE_NAME>"

// maxIdentifier is the longest Snowflake identifier, in characters.
const maxIdentifier = 255

// SnowflakeSetupSQL writes the Snowflake SQL that loads the objects of the s3 sink sinkName,
// with options o, into a table as they arrive: a storage integration, a Parquet file format,
// an external stage, a table whose columns are the files' columns, and an auto-ingest pipe,
// followed by comments on the AWS side and on removing duplicates. Every statement is
// CREATE ... IF NOT EXISTS, so running the script again changes nothing; in particular the
// integration keeps the external id the IAM role trusts.
//
// The sink must write Parquet to AWS S3. Nothing is written when an error is returned for
// the options or the names.
func SnowflakeSetupSQL(w io.Writer, sinkName string, o *Options, p SetupParams) error {
	if o.Format != FormatParquet {
		return fmt.Errorf("s3 sink %q writes format %q: Snowflake stage loading needs format: %s", sinkName, o.Format, FormatParquet)
	}
	if o.Endpoint != "" {
		return fmt.Errorf("s3 sink %q has an endpoint (%s): Snowflake storage integrations read AWS S3 only", sinkName, o.Endpoint)
	}
	if errs := o.Validate(); len(errs) > 0 {
		return fmt.Errorf("s3 sink %q: invalid options: %s: %s", sinkName, errs[0].Key, errs[0].Msg)
	}
	p = p.withDefaults(sinkName)
	if p.RoleARN != RoleARNPlaceholder && !strings.HasPrefix(p.RoleARN, "arn:") {
		return fmt.Errorf("role ARN %q is not an ARN (arn:aws:iam::<account>:role/<name>)", p.RoleARN)
	}
	for _, n := range []struct{ what, name string }{
		{"database", p.Database}, {"schema", p.Schema}, {"integration", p.Integration},
		{"stage", p.Stage}, {"file format", p.FileFormat}, {"table", p.Table}, {"pipe", p.Pipe},
	} {
		if err := checkIdent(n.name); err != nil {
			return fmt.Errorf("%s name %q %w", n.what, n.name, err)
		}
	}
	format, err := newParquetFormat(o.Parquet)
	if err != nil {
		return err // Validate has already reported it
	}
	cols, err := snowflakeColumns(format.schema.Columns())
	if err != nil {
		return err
	}
	tmpl, err := parseKey(o.keyTemplate())
	if err != nil {
		return err // Validate has already reported it
	}

	var b bytes.Buffer
	writeSetupSQL(&b, sinkName, o, p, cols, tmpl)
	_, err = w.Write(b.Bytes())
	return err
}

func (p SetupParams) withDefaults(sinkName string) SetupParams {
	sink := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_':
			return r
		}
		return '_'
	}, sinkName)
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&p.Database, "INGESTD")
	def(&p.Schema, "PUBLIC")
	def(&p.Integration, "INGESTD_"+sink+"_S3")
	def(&p.Stage, sink+"_STAGE")
	def(&p.FileFormat, sink+"_PARQUET")
	def(&p.Table, sink+"_EVENTS")
	def(&p.Pipe, sink+"_PIPE")
	def(&p.RoleARN, RoleARNPlaceholder)
	return p
}

// sfColumn is a table column: its quoted identifier, its type, and the expression that reads
// it from a staged Parquet row.
type sfColumn struct {
	ident, typ, expr string
}

// leadColumns are the fixed Parquet columns in the order the table lists them first; the
// promoted columns follow in file order (by name).
var leadColumns = []string{"timestamp", "received_at", "event_id", "stream_id", "source", "event", "metadata", "extra"}

// snowflakeColumns maps the Parquet columns to table columns, leadColumns first.
//
// Timestamps are TIMESTAMP_NTZ(9) holding UTC: the files hold nanoseconds since 1970 in an
// INT64 whose TIMESTAMP(NANOS) annotation has no legacy converted type, so the file format
// reads it as a number (USE_LOGICAL_TYPE = FALSE) and TO_TIMESTAMP_NTZ(n, 9) turns it into
// the exact UTC wall time without regard to the session's TIMEZONE, which the LTZ and TZ
// conversions would apply. The JSON text of event, metadata and extra becomes VARIANT.
func snowflakeColumns(info []parquet.ColumnInfo) ([]sfColumn, error) {
	info = slices.Clone(info)
	slices.SortStableFunc(info, func(a, b parquet.ColumnInfo) int {
		return cmp.Compare(lead(a.Name), lead(b.Name))
	})
	cols := make([]sfColumn, 0, len(info))
	seen := make(map[string]string, len(info))
	for _, c := range info {
		id := sqlIdent(c.Name)
		if other, ok := seen[id]; ok {
			return nil, fmt.Errorf("columns %q and %q are the same Snowflake column %s: rename one of the promoted paths", other, c.Name, id)
		}
		seen[id] = c.Name
		if err := checkIdent(c.Name); err != nil {
			return nil, fmt.Errorf("column name %q %w", c.Name, err)
		}
		v := "$1" + element(c.Name)
		col := sfColumn{ident: id}
		switch {
		case c.Name == "event" || c.Name == "metadata" || c.Name == "extra":
			col.typ, col.expr = "VARIANT", "PARSE_JSON("+v+"::VARCHAR)"
		case c.Type == "timestamp":
			col.typ, col.expr = "TIMESTAMP_NTZ(9)", "TO_TIMESTAMP_NTZ("+v+"::NUMBER(19,0), 9)"
		case c.Type == "int64":
			col.typ, col.expr = "NUMBER(19,0)", v+"::NUMBER(19,0)"
		case c.Type == "double":
			col.typ, col.expr = "FLOAT", v+"::FLOAT"
		case c.Type == "bool":
			col.typ, col.expr = "BOOLEAN", v+"::BOOLEAN"
		default: // string
			col.typ, col.expr = "VARCHAR", v+"::VARCHAR"
		}
		cols = append(cols, col)
	}
	return cols, nil
}

// lead ranks a column: its place in leadColumns, or after them all.
func lead(name string) int {
	if i := slices.Index(leadColumns, name); i >= 0 {
		return i
	}
	return len(leadColumns)
}

// stageLocation is the s3:// URL the stage covers: the bucket and the key template's literal
// start up to its last '/', the deepest folder every object is under.
func stageLocation(bucket string, t *keyTemplate) string {
	prefix := ""
	if len(t.segs) > 0 && t.segs[0].tok == literal {
		prefix = t.segs[0].text
		prefix = prefix[:strings.LastIndexByte(prefix, '/')+1]
	}
	return "s3://" + bucket + "/" + prefix
}

// parquetOnly reports whether every key ends in ".parquet", so the pipe can skip other
// objects under the stage's location.
func parquetOnly(t *keyTemplate) bool {
	last := t.segs[len(t.segs)-1]
	return last.tok == literal && strings.HasSuffix(last.text, ".parquet")
}

func writeSetupSQL(b *bytes.Buffer, sinkName string, o *Options, p SetupParams, cols []sfColumn, tmpl *keyTemplate) {
	qualify := func(name string) string {
		return sqlIdent(p.Database) + "." + sqlIdent(p.Schema) + "." + sqlIdent(name)
	}
	integration := sqlIdent(p.Integration)
	stage, format := qualify(p.Stage), qualify(p.FileFormat)
	table, pipe := qualify(p.Table), qualify(p.Pipe)
	location := stageLocation(o.Bucket, tmpl)
	line := func(format string, args ...any) { fmt.Fprintf(b, format+"\n", args...) }

	if o.Region != "" {
		line("-- Snowflake stage loading for the ingestd s3 sink %s (bucket %s, region %s).", sqlComment(sinkName), sqlComment(o.Bucket), sqlComment(o.Region))
	} else {
		line("-- Snowflake stage loading for the ingestd s3 sink %s (bucket %s).", sqlComment(sinkName), sqlComment(o.Bucket))
	}
	line("-- Generated by `ingestd snowflake setup-sql`. Every statement is CREATE ... IF NOT EXISTS:")
	line("-- after a change of the sink's promoted columns, alter the table and recreate the pipe.")
	line("")
	line("CREATE DATABASE IF NOT EXISTS %s;", sqlIdent(p.Database))
	line("CREATE SCHEMA IF NOT EXISTS %s.%s;", sqlIdent(p.Database), sqlIdent(p.Schema))
	line("")
	line("-- 1. The storage integration: the identity Snowflake reads the bucket with (needs a role")
	line("--    with CREATE INTEGRATION, such as ACCOUNTADMIN).")
	if p.RoleARN == RoleARNPlaceholder {
		line("--    Replace the role ARN with the IAM role Snowflake is to assume.")
	}
	line("CREATE STORAGE INTEGRATION IF NOT EXISTS %s", integration)
	line("  TYPE = EXTERNAL_STAGE")
	line("  STORAGE_PROVIDER = 'S3'")
	line("  ENABLED = TRUE")
	line("  STORAGE_AWS_ROLE_ARN = %s", sqlString(p.RoleARN))
	line("  STORAGE_ALLOWED_LOCATIONS = (%s);", sqlString(location))
	line("-- Then DESC INTEGRATION %s; gives STORAGE_AWS_IAM_USER_ARN and", integration)
	line("-- STORAGE_AWS_EXTERNAL_ID: the IAM role's trust policy must let that user assume it")
	line("-- with that external id (sts:ExternalId), and the role may s3:GetObject, s3:GetObjectVersion")
	line("-- and s3:ListBucket on the location.")
	line("")
	line("-- 2. The file format. Timestamps are read as their INT64 nanoseconds and converted below.")
	line("CREATE FILE FORMAT IF NOT EXISTS %s", format)
	line("  TYPE = PARQUET")
	line("  USE_LOGICAL_TYPE = FALSE;")
	line("")
	line("-- 3. The stage: the objects the sink writes.")
	line("CREATE STAGE IF NOT EXISTS %s", stage)
	line("  URL = %s", sqlString(location))
	line("  STORAGE_INTEGRATION = %s", integration)
	line("  FILE_FORMAT = (FORMAT_NAME = %s);", format)
	line("")
	line("-- 4. The table: one column per Parquet column; timestamps in UTC.")
	line("CREATE TABLE IF NOT EXISTS %s (", table)
	for i, c := range cols {
		line("  %s %s%s", c.ident, c.typ, sep(i, len(cols)))
	}
	line(");")
	line("")
	line("-- 5. The pipe: loads each new object once, on the bucket's event notification.")
	line("CREATE PIPE IF NOT EXISTS %s", pipe)
	line("  AUTO_INGEST = TRUE")
	line("  AS COPY INTO %s (", table)
	for i, c := range cols {
		line("    %s%s", c.ident, sep(i, len(cols)))
	}
	line("  )")
	line("  FROM (")
	line("    SELECT")
	for i, c := range cols {
		line("      %s%s", c.expr, sep(i, len(cols)))
	}
	line("    FROM @%s", stage)
	line("  )")
	if parquetOnly(tmpl) {
		line("  PATTERN = '.*[.]parquet'")
	}
	line("  FILE_FORMAT = (FORMAT_NAME = %s);", format)
	line("")
	line("-- 6. The S3 event notification: the notification_channel column of")
	line("--      SHOW PIPES LIKE %s IN SCHEMA %s.%s;", sqlString(p.Pipe), sqlIdent(p.Database), sqlIdent(p.Schema))
	line("--    is the ARN of the SQS queue that bucket %s must send its", sqlComment(o.Bucket))
	line("--    s3:ObjectCreated:* events for prefix %s to.", sqlComment(strings.TrimPrefix(location, "s3://"+o.Bucket+"/")))
	line("--    Objects written before that are loaded with ALTER PIPE %s REFRESH;", pipe)
	line("")
	line("-- 7. Removing duplicates. Delivery is at least once, and every copy of an event has the")
	line("--    same event_id, so this view keeps one row per event:")
	line("--")
	line("-- CREATE VIEW IF NOT EXISTS %s AS", qualify(p.Table+"_DEDUP"))
	line("--   SELECT * FROM %s", table)
	line("--   QUALIFY %s IS NULL", sqlIdent("event_id"))
	line("--     OR ROW_NUMBER() OVER (PARTITION BY %s ORDER BY %s) = 1;", sqlIdent("event_id"), sqlIdent("received_at"))
}

func sep(i, n int) string {
	if i < n-1 {
		return ","
	}
	return ""
}

// plain reports whether s is a Snowflake identifier that needs no quotes: a letter or '_',
// then letters, digits, '_' and '$'. Such a name is case-insensitive.
func plain(s string) bool {
	for i, c := range []byte(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_':
		case (c >= '0' && c <= '9' || c == '$') && i > 0:
		default:
			return false
		}
	}
	return s != ""
}

// sqlIdent quotes a name as a Snowflake identifier: a plain name in upper case, which is what
// Snowflake makes of it unquoted, and the quotes keep reserved words valid; any other name
// verbatim, its double quotes doubled.
func sqlIdent(s string) string {
	if plain(s) {
		return `"` + strings.ToUpper(s) + `"`
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// checkIdent refuses names Snowflake cannot hold; the message completes "<what> name %q".
func checkIdent(s string) error {
	switch {
	case len([]rune(s)) > maxIdentifier:
		return fmt.Errorf("is longer than %d characters", maxIdentifier)
	case strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return errors.New("has a control character")
	}
	return nil
}

// element is the path to a Parquet column in the staged row $1: ":name" for a plain name,
// else the bracket form with the name as a string, which takes any characters.
func element(name string) string {
	if plain(name) {
		return ":" + name
	}
	return "[" + sqlString(name) + "]"
}

// sqlString quotes s as a Snowflake string. Snowflake reads backslash escapes in single-quoted
// strings, so a backslash is doubled as well as a quote, and control characters are written
// as \xhh.
func sqlString(s string) string {
	var b strings.Builder
	b.WriteByte('\'')
	for _, c := range []byte(s) {
		switch {
		case c == '\'':
			b.WriteString("''")
		case c == '\\':
			b.WriteString(`\\`)
		case c < 0x20 || c == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('\'')
	return b.String()
}

// sqlComment makes s safe inside a "--" comment line: a line break would end the comment and
// turn the rest of s into SQL.
func sqlComment(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}
