package filter_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/orbitmq/orbit/dataplane/broker/filter"
)

func TestTagFilterMatch(t *testing.T) {
	t.Parallel()
	cases := []struct {
		expr string
		tag  string
		want bool
	}{
		{"", "a", true},
		{"", "", true},
		{"*", "", true},
		{" * ", "x", true},
		{"a", "a", true},
		{"a", "A", false},
		{"a", "", false},
		{"a || b", "b", true},
		{"a||b||c", "c", true},
		{" a ||  b ", "a", true},
		{"a || b", "ab", false},
		{"a || b", "a || b", false},
		{"a || *", "zzz", false}, // "*" inside a list is an ordinary tag (Apache)
		{"a || *", "*", true},
		{"a || || b", "b", true},
	}
	for _, c := range cases {
		t.Run(c.expr+"/"+c.tag, func(t *testing.T) {
			t.Parallel()
			f, err := filter.Parse(filter.Tag, c.expr)
			require.NoError(t, err)
			require.Equal(t, c.want, f.Match(c.tag, nil))
		})
	}
}

func TestParseTypes(t *testing.T) {
	t.Parallel()
	f, err := filter.Parse("", "a")
	require.NoError(t, err)
	require.True(t, f.Match("a", nil), "empty type is TAG")
	f, err = filter.Parse("sql92", "a = 1")
	require.NoError(t, err)
	require.True(t, f.Match("", map[string]string{"a": "1"}))
	_, err = filter.Parse("REGEX", "a")
	require.ErrorIs(t, err, filter.ErrSyntax)
	_, err = filter.Parse(filter.Tag, " || ")
	require.ErrorIs(t, err, filter.ErrSyntax)
	require.Equal(t, "*", filter.All.String())
}

func TestSQLFilterMatch(t *testing.T) {
	t.Parallel()
	props := map[string]string{
		"a":     "3",
		"b":     "hello",
		"c":     "2.5",
		"flag":  "true",
		"neg":   "-7",
		"empty": "",
		"q":     "it's",
		"big":   "9223372036854775807",
		"x.y":   "dotted",
	}
	cases := []struct {
		expr string
		tag  string
		want bool
	}{
		{"a = 3", "", true},
		{"a = 3.0", "", true},
		{"a = '3'", "", true},
		{"a <> 3", "", false},
		{"a > 2", "", true},
		{"a >= 3", "", true},
		{"a < 3", "", false},
		{"a <= 3", "", true},
		{"2 < a", "", true},
		{"c > 2", "", true},   // decimal property against a long literal
		{"c < 2.6", "", true}, // double literal
		{"a BETWEEN 1 AND 3", "", true},
		{"a BETWEEN 4 AND 9", "", false},
		{"a NOT BETWEEN 4 AND 9", "", true},
		{"a not between 1 and 3", "", false},
		{"neg BETWEEN -10 AND -5", "", true},
		{"b IN ('x', 'hello')", "", true},
		{"b IN ('x')", "", false},
		{"b NOT IN ('x')", "", true},
		{"b NOT IN ('hello', 'y')", "", false},
		{"b = 'hello' AND a = 3", "", true},
		{"b = 'hello' AND a = 4", "", false},
		{"b = 'nope' OR a = 3", "", true},
		{"NOT (a = 3)", "", false},
		{"NOT a = 4", "", true},
		{"TRUE", "", true},
		{"FALSE", "", false},
		{"TRUE AND NOT FALSE", "", true},
		{"flag = TRUE", "", true},
		{"flag = FALSE", "", false},
		{"b = TRUE", "", false},
		{"q = 'it''s'", "", true},
		{"empty = ''", "", true},
		{"empty IS NULL", "", false},
		{"big = 9223372036854775807", "", true},
		{"x.y = 'dotted'", "", true},
		{"a = 0x3", "", true},
		{"a = 03", "", true},
		{"a = 3L", "", true},
		{"a = 3e0", "", true},
		{"a > -1", "", true},
		{"a > +1", "", true},
		{"b CONTAINS 'ell'", "", true},
		{"b NOT CONTAINS 'ell'", "", false},
		{"b STARTSWITH 'he'", "", true},
		{"b ENDSWITH 'lo'", "", true},
		{"b ENDSWITH 'he'", "", false},
		{"b CONTAINS ''", "", false},
		{"((a = 3))", "", true},
		{"a = 3 AND (b = 'x' OR b = 'hello')", "", true},
		{"a = 3 OR b = 'x' AND a = 4", "", true}, // AND binds tighter
		{"(a = 3 OR b = 'x') AND a = 4", "", false},
		// TAGS is the message tag.
		{"TAGS = 'tagA'", "tagA", true},
		{"TAGS IN ('tagA', 'tagB')", "tagB", true},
		{"TAGS IS NULL", "", true},
		{"TAGS IS NOT NULL", "", false},
		// A missing property is NULL: every comparison is unknown.
		{"missing = 'x'", "", false},
		{"missing <> 'x'", "", false},
		{"NOT (missing = 'x')", "", false},
		{"missing > 1", "", false},
		{"missing BETWEEN 1 AND 2", "", false},
		{"missing NOT BETWEEN 1 AND 2", "", false},
		{"missing IN ('x')", "", false},
		{"missing NOT IN ('x')", "", false},
		{"missing IS NULL", "", true},
		{"missing IS NOT NULL", "", false},
		{"a IS NOT NULL", "", true},
		{"missing = 'x' OR a = 3", "", true},
		{"missing = 'x' AND a = 3", "", false},
		{"missing NOT CONTAINS 'x'", "", false},
		// A property that does not convert makes the expression fail, even
		// inside an OR (Apache aborts evaluation with an exception).
		{"b > 1", "", false},
		{"b > 1 OR a = 3", "", false},
		{"a = 3 OR b > 1", "", true}, // short-circuit before the failing side
		{"b = 1", "", false},
		// Two properties.
		{"a = a", "", true},
		{"a < c", "", false},
		{"c < a", "", true},
		{"b > a", "", false},
	}
	for _, c := range cases {
		t.Run(c.expr, func(t *testing.T) {
			t.Parallel()
			f, err := filter.Parse(filter.SQL92, c.expr)
			require.NoError(t, err)
			require.Equal(t, c.want, f.Match(c.tag, props))
			require.Equal(t, c.expr, f.String())
		})
	}
}

func TestSQLFilterSyntaxErrors(t *testing.T) {
	t.Parallel()
	bad := []string{
		"",
		"   ",
		"a",
		"a =",
		"= 1",
		"a = 1 AND",
		"a = 1 b = 2",
		"(a = 1",
		"a = 1)",
		"a == 1",
		"a != 1",
		"a = 'unterminated",
		"a > 'x'",
		"'x' < a",
		"a > TRUE",
		"a BETWEEN 'x' AND 'y'",
		"a BETWEEN 5 AND 1",
		"a BETWEEN 1",
		"a BETWEEN 1 OR 2",
		"a IN ()",
		"a IN (1, 2)",
		"a IN ('x' 'y')",
		"a IN 'x'",
		"'x' IN ('x')",
		"a IS 'x'",
		"a IS NOT",
		"a = NULL",
		"NULL <> a",
		"a CONTAINS 1",
		"a NOT LIKE 'x'",
		"NOT a",
		"a AND b",
		"1",
		"'x'",
		"(a = 1) = TRUE",
		"a = 12abc",
		"a = 0x",
		"a = 0xZZ",
		"a = 09",
		"a = 1e",
		"a = 99999999999999999999",
		"a = 9223372036854775808",
		"a = -'x'",
		"a = - b",
		"a # 1",
		"a = 1 ;",
		"a = \"x\"",
		"AND",
		"a NOT",
		"a NOT = 1",
	}
	for _, expr := range bad {
		t.Run(expr, func(t *testing.T) {
			t.Parallel()
			f, err := filter.Parse(filter.SQL92, expr)
			require.Error(t, err, "parsed as %v", f)
			require.ErrorIs(t, err, filter.ErrSyntax)
		})
	}
}

func TestSQLFilterLimits(t *testing.T) {
	t.Parallel()
	deep := ""
	for range 200 {
		deep += "("
	}
	_, err := filter.Parse(filter.SQL92, deep+"a = 1")
	require.ErrorIs(t, err, filter.ErrSyntax)
	nots := ""
	for range 200 {
		nots += "NOT "
	}
	_, err = filter.Parse(filter.SQL92, nots+"TRUE")
	require.ErrorIs(t, err, filter.ErrSyntax)

	f, err := filter.Parse(filter.SQL92, "a = -9223372036854775808")
	require.NoError(t, err)
	require.True(t, f.Match("", map[string]string{"a": "-9223372036854775808"}))
}

// FuzzParseSQL checks that no input makes Parse or Match panic, and that
// every error is a syntax error.
func FuzzParseSQL(f *testing.F) {
	for _, s := range []string{
		"a = 1", "a BETWEEN 1 AND 3 OR b IN ('x', 'y')", "NOT (TAGS IS NULL)",
		"c > 2.5e3 AND d <> 'it''s'", "a NOT CONTAINS 'x'", "-0x10 < a", "((((TRUE))))",
		"a = 'x", "a IN (", "1e+", "0777", "$x.y = .5",
	} {
		f.Add(s)
	}
	props := map[string]string{"a": "1", "b": "x", "c": "2.5", "d": "it's", "e": "NaN", "f": " 3 "}
	f.Fuzz(func(t *testing.T, expr string) {
		flt, err := filter.Parse(filter.SQL92, expr)
		if err != nil {
			if !errors.Is(err, filter.ErrSyntax) {
				t.Fatalf("error %v is not ErrSyntax", err)
			}
			return
		}
		flt.Match("tag", props)
		flt.Match("", nil)
	})
}

func FuzzParseTag(f *testing.F) {
	for _, s := range []string{"*", "a||b", " || ", "a | b"} {
		f.Add(s, "a")
	}
	f.Fuzz(func(t *testing.T, expr, tag string) {
		flt, err := filter.Parse(filter.Tag, expr)
		if err != nil {
			if !errors.Is(err, filter.ErrSyntax) {
				t.Fatalf("error %v is not ErrSyntax", err)
			}
			return
		}
		flt.Match(tag, nil)
	})
}

func TestCanonicalTags(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"", "*"},
		{" * ", "*"},
		{"a", "a"},
		{"b || a", "a||b"},
		{"a||b||a", "a||b"},
		{" b||  a ||c", "a||b||c"},
		{"a||*", "*||a"}, // inside a list "*" is an ordinary tag
		{" || ", "||"},   // names no tag: kept as written, trimmed
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			if got := filter.CanonicalTags(tc.in); got != tc.want {
				t.Fatalf("CanonicalTags(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
