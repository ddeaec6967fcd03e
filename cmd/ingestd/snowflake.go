package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/ingestd/ingestd/core/config"
	"github.com/ingestd/ingestd/sinks/s3"
)

// snowflakeCmd prints the SQL that loads an s3 sink's Parquet objects into Snowflake with
// Snowpipe (docs/sinks/snowflake.md).
func snowflakeCmd(args []string, stdout, stderr io.Writer) int {
	const use = "usage: ingestd snowflake setup-sql --config FILE --sink NAME [--database D] [--schema S] [--role-arn ARN]\n" +
		"       [--integration N] [--stage N] [--file-format N] [--table N] [--pipe N]"
	if len(args) == 0 || args[0] != "setup-sql" {
		fmt.Fprintln(stderr, use)
		return 2
	}
	fs := flag.NewFlagSet("snowflake setup-sql", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "config file")
	sink := fs.String("sink", "", "name of an s3 sink with format: parquet")
	var p s3.SetupParams
	fs.StringVar(&p.Database, "database", "", "database (default INGESTD)")
	fs.StringVar(&p.Schema, "schema", "", "schema (default PUBLIC)")
	fs.StringVar(&p.RoleARN, "role-arn", "", "AWS IAM role Snowflake assumes to read the bucket (default: a placeholder to replace)")
	fs.StringVar(&p.Integration, "integration", "", "storage integration (default INGESTD_<SINK>_S3)")
	fs.StringVar(&p.Stage, "stage", "", "stage (default <SINK>_STAGE)")
	fs.StringVar(&p.FileFormat, "file-format", "", "file format (default <SINK>_PARQUET)")
	fs.StringVar(&p.Table, "table", "", "table (default <SINK>_EVENTS)")
	fs.StringVar(&p.Pipe, "pipe", "", "pipe (default <SINK>_PIPE)")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if *path == "" || *sink == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, use)
		return 2
	}
	cfg, err := config.Load(*path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	for _, s := range cfg.Sinks {
		if s.Name != *sink {
			continue
		}
		o, ok := s.Options.(*s3.Options)
		if !ok {
			fmt.Fprintf(stderr, "ingestd snowflake setup-sql: sink %q is of type %q; stage loading needs an s3 sink with format: parquet\n", *sink, s.Type)
			return 1
		}
		if err := s3.SnowflakeSetupSQL(stdout, s.Name, o, p); err != nil {
			fmt.Fprintln(stderr, "ingestd snowflake setup-sql:", err)
			return 1
		}
		return 0
	}
	fmt.Fprintf(stderr, "ingestd snowflake setup-sql: %s has no sink named %q\n", *path, *sink)
	return 1
}
