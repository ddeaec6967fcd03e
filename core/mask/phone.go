package mask

// phoneDetector finds telephone numbers of 10 to 15 digits in these shapes:
//   - international: '+', then digits, in one run ("+14155552671") or in groups separated by
//     spaces, dashes, dots or parentheses with a country code of 1-3 digits first
//     ("+44 20 7946 0958", "+1 (555) 123-4567", "+44 (0)20 7946 0958");
//   - North American: 3-3-4 digits with one kind of separator, the area code optionally in
//     parentheses and the number optionally led by 1 ("555-123-4567", "(555) 123-4567",
//     "1 555.123.4567");
//   - national with a trunk 0: a first group of 2-5 digits starting with 0, then 1-4 groups of
//     2-8 digits, one kind of separator ("020 7946 0958", "01 23 45 67 89").
//
// A bare run of digits without '+' is never a phone number (it is as likely an id or a Unix
// time), nor is a number glued to letters, digits or a dashed or dotted run (UUIDs, versions).
type phoneDetector struct{}

// E.164 allows 15 digits; fewer than 10 is a local number or something else.
const (
	minPhoneDigits = 10
	maxPhoneDigits = 15
)

// maxPhoneGroups bounds the groups read for one number; "+1 (555) 123-4567" has four.
const maxPhoneGroups = 8

// phoneGroups is the shape of a candidate number: its digit groups, the separator before each
// (0 for none), and which group was in parentheses.
type phoneGroups struct {
	n      int
	digits int // in the n groups
	end    [maxPhoneGroups]int
	size   [maxPhoneGroups]int
	sep    [maxPhoneGroups]byte
	paren  [maxPhoneGroups]bool
	first  byte // the first digit
}

func (phoneDetector) Find(s []byte, from int) (int, int, bool) {
	for i := from; i < len(s); {
		c := s[i]
		if c != '+' && c != '(' && !isDigit(c) {
			i++
			continue
		}
		if !gluedBefore(s, i) && (i == 0 || s[i-1] != '+') {
			if end, ok := phoneAt(s, i); ok {
				return i, end, true
			}
		}
		if i++; isDigit(c) {
			i = skipDigits(s, i)
		}
	}
	return 0, 0, false
}

// phoneAt reads the groups of a candidate at s[i] and returns the end of its longest prefix
// of groups that forms a number, so a trailing "3 times" does not spoil "555-123-4567 3 times".
func phoneAt(s []byte, i int) (int, bool) {
	plus := s[i] == '+'
	if plus {
		if i++; i >= len(s) || !isDigit(s[i]) {
			return 0, false
		}
	}
	var g phoneGroups
	var sep byte
	for g.n < maxPhoneGroups {
		paren := i < len(s) && s[i] == '('
		if paren {
			i++
		}
		j := skipDigits(s, i)
		if j == i || paren && (j >= len(s) || s[j] != ')') {
			break
		}
		if g.n == 0 {
			g.first = s[i]
		}
		g.size[g.n], g.sep[g.n], g.paren[g.n] = j-i, sep, paren
		if i = j; paren {
			i++
		}
		g.end[g.n] = i
		g.digits += g.size[g.n]
		g.n++
		sep = 0
		if i < len(s) && (s[i] == ' ' || s[i] == '-' || s[i] == '.') {
			sep = s[i]
			i++
		} else if !paren {
			break
		}
		if i >= len(s) || !isDigit(s[i]) && s[i] != '(' {
			break
		}
	}
	for ; g.n > 0 && g.digits >= minPhoneDigits; g.n-- {
		end := g.end[g.n-1]
		if !gluedAfter(s, end) && (plus && g.international() || !plus && (g.northAmerican() || g.trunk())) {
			return end, true
		}
		g.digits -= g.size[g.n-1]
	}
	return 0, false
}

// international checks a number that followed a '+': 10-15 digits, and when grouped a country
// code of 1-3 digits, not in parentheses.
func (g *phoneGroups) international() bool {
	return g.digits <= maxPhoneDigits && (g.n == 1 || g.size[0] <= 3 && !g.paren[0])
}

// northAmerican checks [1] AAA BBB CCCC.
func (g *phoneGroups) northAmerican() bool {
	k := 0
	if g.n == 4 && g.size[0] == 1 && g.first == '1' && !g.paren[0] {
		k = 1
	}
	if g.n-k != 3 || g.size[k] != 3 || g.size[k+1] != 3 || g.size[k+2] != 4 ||
		g.paren[k+1] || g.paren[k+2] {
		return false
	}
	// Parentheses around the area code stand in for its separator: "(555) 123-4567".
	return g.paren[k] || g.sep[k+2] == g.sep[k+1]
}

// trunk checks a national number led by a trunk 0: 10-11 digits, a first group of 2-5, then
// 1-4 groups of 2-8, one separator throughout.
func (g *phoneGroups) trunk() bool {
	if g.first != '0' || g.n < 2 || g.n > 5 || g.size[0] < 2 || g.size[0] > 5 {
		return false
	}
	if g.digits > 11 {
		return false
	}
	last := g.sep[g.n-1]
	for k := 1; k < g.n; k++ {
		if g.size[k] < 2 || g.size[k] > 8 || g.paren[k] || g.sep[k] != last && (k > 1 || !g.paren[0]) {
			return false
		}
	}
	return true
}
