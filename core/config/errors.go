package config

import (
	"strconv"
	"strings"
)

// Error is one problem in a config file. Key is the dotted path of the setting, with list
// indexes, such as "streams[0].rate_limit.burst"; it is empty for problems with the file as a
// whole (YAML syntax, an empty file). Msg never contains a token's secret.
type Error struct {
	File string
	Line int
	Key  string
	Msg  string
}

// Error formats the problem as "file:line: key: msg", the form editors and CI logs link to.
func (e Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	b.WriteByte(':')
	b.WriteString(strconv.Itoa(e.Line))
	b.WriteString(": ")
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in a config file, sorted by line. Parse and Load return it
// whenever the file is invalid, so `ingestd validate` can show all mistakes at once.
type Errors []Error

// Error puts one problem on each line.
func (es Errors) Error() string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}
