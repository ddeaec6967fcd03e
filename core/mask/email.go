package mask

import "bytes"

// emailDetector finds e-mail addresses local@domain.tld, a practical subset of RFC 5322: a
// dot-atom local part (atoms separated by single dots), then domain labels of letters, digits
// and inner hyphens, at least two of them, the last all letters and at least two long. Quoted
// local parts, address literals and internationalised domains are not recognised.
type emailDetector struct{}

func (emailDetector) Find(s []byte, from int) (int, int, bool) {
	for i := from; i < len(s); {
		k := bytes.IndexByte(s[i:], '@')
		if k < 0 {
			break
		}
		at := i + k
		if start := localStart(s, from, at); start < at {
			if end := domainEnd(s, at+1); end > 0 {
				return start, end, true
			}
		}
		i = at + 1
	}
	return 0, 0, false
}

// localStart returns where the dot-atom ending just before the '@' at s[at] starts, no earlier
// than from; at itself when there is none. A run with ".." in it keeps only its part after the
// last "..".
func localStart(s []byte, from, at int) int {
	j := at
	for j > from {
		c := s[j-1]
		if is(c, cLocal) || c == '.' && j < at && s[j] != '.' {
			j--
			continue
		}
		break
	}
	if j < at && s[j] == '.' {
		j++
	}
	return j
}

// domainEnd returns the end of the domain starting at s[i], or 0 if there is none. It ends at
// the last label that can be a top-level domain, so "bob@example.com.42" gives
// "bob@example.com".
func domainEnd(s []byte, i int) int {
	end := 0
	for labels := 1; ; labels++ {
		j, letters := i, true
		for j < len(s) && (is(s[j], cAlnum) || s[j] == '-') {
			letters = letters && is(s[j], cLetter)
			j++
		}
		if j == i || j-i > 63 || s[i] == '-' || s[j-1] == '-' {
			return end
		}
		if labels >= 2 && letters && j-i >= 2 {
			end = j
		}
		if j+1 >= len(s) || s[j] != '.' || !is(s[j+1], cAlnum) {
			return end
		}
		i = j + 1
	}
}
