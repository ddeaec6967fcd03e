package mask

import "bytes"

// jwtDetector finds JSON Web Tokens in compact form: base64url segments separated by dots,
// the first two starting with "eyJ" (the encoding of `{"`), three segments for a JWS (the
// third, the signature, may be empty for an unsecured token) and five for a JWE.
type jwtDetector struct{}

// minJWTSegment is the shortest header or payload taken for a token: `{"a":1}` encodes to 10.
const minJWTSegment = 10

func (jwtDetector) Find(s []byte, from int) (int, int, bool) {
	for i := from; i < len(s); {
		k := bytes.Index(s[i:], []byte("eyJ"))
		if k < 0 {
			break
		}
		start := i + k
		if start == 0 || !is(s[start-1], cB64URL) {
			if end, ok := jwtAt(s, start); ok {
				return start, end, true
			}
		}
		i = start + 3
	}
	return 0, 0, false
}

func jwtAt(s []byte, i int) (int, bool) {
	header := skipClass(s, i, cB64URL)
	if header-i < minJWTSegment || header+1 >= len(s) || s[header] != '.' ||
		!bytes.HasPrefix(s[header+1:], []byte("eyJ")) {
		return 0, false
	}
	payload := skipClass(s, header+1, cB64URL)
	if payload-header-1 < minJWTSegment || payload >= len(s) || s[payload] != '.' {
		return 0, false
	}
	end := skipClass(s, payload+1, cB64URL)
	// A JWE has two more segments, the ciphertext and the tag.
	if next := end; next < len(s) && s[next] == '.' {
		if next = skipClass(s, next+1, cB64URL); next < len(s) && s[next] == '.' {
			end = skipClass(s, next+1, cB64URL)
		}
	}
	return end, true
}

// bearerDetector finds the token after the word "Bearer" (any case) and one or more spaces:
// at least 16 characters of A-Z a-z 0-9 . _ ~ + / = -. The match is the token alone, so the
// masked text still says what it was.
type bearerDetector struct{}

const minBearerToken = 16

func (bearerDetector) Find(s []byte, from int) (int, int, bool) {
	const word = "bearer"
	for i := from; i+len(word) < len(s); i++ {
		if s[i]|0x20 != 'b' || i > 0 && is(s[i-1], cAlnum) || !hasPrefixFold(s[i:], word) {
			continue
		}
		start := i + len(word)
		if s[start] != ' ' {
			continue
		}
		for start < len(s) && s[start] == ' ' {
			start++
		}
		if end := skipClass(s, start, cToken); end-start >= minBearerToken {
			return start, end, true
		}
	}
	return 0, 0, false
}

// hasPrefixFold reports whether s, at least as long as word, starts with the lowercase ASCII
// word in any case.
func hasPrefixFold(s []byte, word string) bool {
	for k := range len(word) {
		if s[k]|0x20 != word[k] {
			return false
		}
	}
	return true
}

// awsKeyDetector finds AWS access key ids: a known 4-letter prefix then 16 upper-case letters
// or digits, not glued to other letters or digits.
type awsKeyDetector struct{}

const awsKeyLen = 20

func (awsKeyDetector) Find(s []byte, from int) (int, int, bool) {
	for i := from; i+awsKeyLen <= len(s); i++ {
		k := bytes.IndexByte(s[i:len(s)-awsKeyLen+1], 'A')
		if k < 0 {
			break
		}
		if i += k; (i == 0 || !is(s[i-1], cAlnum)) && awsKeyAt(s, i) {
			return i, i + awsKeyLen, true
		}
		// A key cannot start inside this word; go on after it.
		i = skipClass(s, i, cAlnum) - 1
	}
	return 0, 0, false
}

// awsKeyAt checks the 20 bytes at s[i] and the byte after them.
func awsKeyAt(s []byte, i int) bool {
	switch string(s[i : i+4]) {
	case "AKIA", "ASIA", "AGPA", "AIDA", "AROA", "ANPA", "ANVA", "AIPA":
	default:
		return false
	}
	end := i + awsKeyLen
	for _, c := range s[i+4 : end] {
		if !is(c, cAWS) {
			return false
		}
	}
	return end == len(s) || !is(s[end], cAlnum)
}

// pemDetector finds PEM private keys, from "-----BEGIN <label>-----" where the label is
// upper-case words ending in "PRIVATE KEY", to the END line with the same label, or to the
// end of the string when there is none: a truncated key is still a secret.
type pemDetector struct{}

const (
	pemBegin = "-----BEGIN "
	pemEnd   = "-----END "
	pemDash  = "-----"
)

func (pemDetector) Find(s []byte, from int) (int, int, bool) {
	for i := from; i < len(s); {
		k := bytes.Index(s[i:], []byte(pemBegin))
		if k < 0 {
			break
		}
		start := i + k
		label := start + len(pemBegin)
		j := label
		for j < len(s) && (s[j] >= 'A' && s[j] <= 'Z' || s[j] == ' ') {
			j++
		}
		if bytes.HasSuffix(s[label:j], []byte("PRIVATE KEY")) && bytes.HasPrefix(s[j:], []byte(pemDash)) {
			return start, pemEndOf(s, j+len(pemDash), s[label:j]), true
		}
		i = label
	}
	return 0, 0, false
}

// pemEndOf returns the end of the line "-----END <label>-----" at or after i, or len(s).
func pemEndOf(s []byte, i int, label []byte) int {
	for {
		k := bytes.Index(s[i:], []byte(pemEnd))
		if k < 0 {
			return len(s)
		}
		i += k + len(pemEnd)
		if rest := s[i:]; bytes.HasPrefix(rest, label) && bytes.HasPrefix(rest[len(label):], []byte(pemDash)) {
			return i + len(label) + len(pemDash)
		}
	}
}
