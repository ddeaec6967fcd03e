// Package apierr is the one table of client-facing errors of the ingest API (SPEC §1):
// each code has its HTTP status and its metric reason, so handlers never invent strings.
package apierr

// Code identifies one client-facing error.
type Code uint8

// The SPEC §1 error codes. OK is not an error; it is here so a request's outcome fits one type.
const (
	OK Code = iota
	InvalidJSON
	InvalidFormat
	MissingField
	PayloadTooLarge
	MissingStreamID
	Unauthorized
	Forbidden
	StreamNotFound
	UnsupportedMediaType
	RateLimited
	Overloaded
	NotFound
	MethodNotAllowed
	HeadersTooLarge
	RequestTimeout
	// NumCodes is the number of codes, for arrays indexed by Code.
	NumCodes
)

type entry struct {
	name   string
	status int
}

var table = [NumCodes]entry{
	OK:                   {"ok", 200},
	InvalidJSON:          {"invalid_json", 400},
	InvalidFormat:        {"invalid_format", 400},
	MissingField:         {"missing_field", 400},
	PayloadTooLarge:      {"payload_too_large", 400},
	MissingStreamID:      {"missing_stream_id", 400},
	Unauthorized:         {"unauthorized", 401},
	Forbidden:            {"forbidden", 403},
	StreamNotFound:       {"stream_not_found", 404},
	UnsupportedMediaType: {"unsupported_media_type", 415},
	RateLimited:          {"rate_limited", 429},
	Overloaded:           {"overloaded", 503},
	NotFound:             {"not_found", 404},
	MethodNotAllowed:     {"method_not_allowed", 405},
	HeadersTooLarge:      {"headers_too_large", 431},
	RequestTimeout:       {"request_timeout", 408},
}

// String returns the code as it appears in the `error` field and in metric labels.
func (c Code) String() string { return table[c].name }

// Status returns the HTTP status code for c.
func (c Code) Status() int { return table[c].status }

// All lists every code, OK first; used to pre-create metric series.
func All() []Code {
	out := make([]Code, NumCodes)
	for i := range out {
		out[i] = Code(i)
	}
	return out
}

// Error is a client-facing error: a code and a sentence a person can act on.
type Error struct {
	Code   Code
	Detail string
}

func (e *Error) Error() string { return e.Code.String() + ": " + e.Detail }
